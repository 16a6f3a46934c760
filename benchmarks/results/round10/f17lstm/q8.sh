#!/bin/bash
# queue 8: changes stacked on d2 (the strongest on 40 hold-outs), hold-outs 0-39, paired against d2
cd "$(dirname "$0")/../../../.."
R=benchmarks/results/round10/f17lstm/run_f17lstm.sh
L=benchmarks/results/round10/f17lstm/screen_jv_lstm_f17lstm.jsonl
$R $(seq -s, 0 39) $L \
  'd2_fm2:"delta":2,"fmask":2' \
  'd2_h192:"delta":2,"hidden":192' \
  'd2_bs64:"delta":2,"batch":64' \
  'd2_sgfs:"delta":2,"surrogate":"fast_sigmoid","surrogate_options":{"slope":10.0}' \
  'd2_e80:"delta":2,"epochs":80' \
  'd2_ema98:"delta":2,"ema":0.98'
