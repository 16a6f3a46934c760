#!/bin/bash
# JV val screen 2, 3 seeds per config (helper f17rate, round 9)
S=benchmarks/results/round9/screen
run() { t=$1; shift; $S/f17rate_screen.sh japanese_vowels 3 f17rate_$t "$@" > $S/f17rate_$t.log 2>&1; }
run th_jv 'learn_threshold=false'
run tu7_th_bfix_jv 'alpha_range=[0.866878,0.99005]' 'learn_threshold=false' 'learn_adlif=["alpha","beta","a"]'
run tu8_bfix_jv 'alpha_range=[0.882497,0.99005]' 'learn_adlif=["alpha","beta","a"]'
run tu8_th_bfix_jv 'alpha_range=[0.882497,0.99005]' 'learn_threshold=false' 'learn_adlif=["alpha","beta","a"]'
run tu7_bfix_jv 'alpha_range=[0.866878,0.99005]' 'learn_adlif=["alpha","beta","a"]'
run th_alphafix_jv 'learn_threshold=false' 'learn_adlif=["beta","a","b"]'
