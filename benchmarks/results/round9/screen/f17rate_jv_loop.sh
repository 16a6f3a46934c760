#!/bin/bash
# JV val screen, 3 seeds per config (helper f17rate, round 9): TAG 'opts...' pairs run in sequence
S=benchmarks/results/round9/screen
run() { t=$1; shift; $S/f17rate_screen.sh japanese_vowels 3 f17rate_$t "$@" > $S/f17rate_$t.log 2>&1; }
run default_jv
run ab_fix_jv 'learn_adlif=["alpha","beta"]'
run all_fix_jv 'learn_adlif=false'
run th_bfix_jv 'learn_threshold=false' 'learn_adlif=["alpha","beta","a"]'
run th_allfix_jv 'learn_threshold=false' 'learn_adlif=false'
run tu10_jv 'alpha_range=[0.904837,0.99005]'
run tu10_bfix_jv 'alpha_range=[0.904837,0.99005]' 'learn_adlif=["alpha","beta","a"]'
run b052_bfix_jv 'b_range=[0.5,2]' 'learn_adlif=["alpha","beta","a"]'
run b04_bfix_jv 'b_range=[0,4]' 'learn_adlif=["alpha","beta","a"]'
run afix_jv 'learn_adlif=["alpha","beta","b"]'
run alphafix_jv 'learn_adlif=["beta","a","b"]'
