#!/bin/bash
# queue 9: initialisation (input weights x0.5, orthogonal recurrent weights) on base and on d2; d2 with θ0 0.25;
# hold-outs 0-39
cd "$(dirname "$0")/../../../.."
R=benchmarks/results/round10/f17lstm/run_f17lstm.sh
L=benchmarks/results/round10/f17lstm/screen_jv_lstm_f17lstm.jsonl
$R $(seq -s, 0 39) $L \
  'rorth:"rorth":true' \
  'winit05:"winit":0.5' \
  'd2_rorth:"delta":2,"rorth":true' \
  'd2_th025:"delta":2,"threshold":0.25,"surrogate_options":{"alpha":8.0}'
