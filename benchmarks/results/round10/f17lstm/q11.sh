#!/bin/bash
# queue 11: d2_sgfs and d2 on 40 more hold-outs (80-119), to settle d2_sgfs's +0.25 on 80
cd "$(dirname "$0")/../../../.."
R=benchmarks/results/round10/f17lstm/run_f17lstm.sh
L=benchmarks/results/round10/f17lstm/screen_jv_lstm_f17lstm.jsonl
$R $(seq -s, 80 119) $L 'd2:"delta":2' 'd2_sgfs:"delta":2,"surrogate":"fast_sigmoid","surrogate_options":{"slope":10.0}'
