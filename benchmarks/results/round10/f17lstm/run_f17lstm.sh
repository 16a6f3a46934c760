#!/bin/bash
# round 10 (f17lstm; a copy of round 8's run_f17best.sh) SpikingLSTM JapaneseVowels hold-out screen: run_f17lstm.sh SEEDS LOG "NAME:EXTRA-JSON" ...
# every candidate = B (tuned_adlif_th02's options, every neuron option pinned) + EXTRA
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMBA_NUM_THREADS=1
seeds=$1; log=$2; shift 2
B='"epochs":60,"lr":0.01,"wd":0.001,"sched":"onecycle","warmup":0.3,"crop":0.2,"label_smoothing":0.1,"batch":32,"readout_decay":0.97,"clip":1.0,"neuron":"adlif","adapt_gain":60.0,"threshold":0.2,"learn_threshold":true,"reset":"zero","discretisation":"se","threshold_range":null,"alpha_range":[0.8187307530779818,0.9607894391523232],"beta_range":[0.9834714538216174,0.9966722160545233],"a_range":[0.0,1.0],"b_range":[0.0,2.0],"learn_adlif":true,"surrogate":"atan","surrogate_options":{"alpha":10.0}'
args=()
for spec in "$@"; do
  name=${spec%%:*}; extra=${spec#*:}
  args+=(--cand "$name" "{$B${extra:+,$extra}}")
done
cd benchmarks && nice -n 19 ../.venv/bin/python screen_japanese_vowels.py --split val --kinds lstm --val 10 --seeds "$seeds" \
  --log "../$log" "${args[@]}"
