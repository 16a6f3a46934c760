#!/bin/bash
# queue 10: d2_sgfs (the only candidate above d2 on hold-outs 0-39) and d2 on 40 more hold-outs (40-79)
cd "$(dirname "$0")/../../../.."
R=benchmarks/results/round10/f17lstm/run_f17lstm.sh
L=benchmarks/results/round10/f17lstm/screen_jv_lstm_f17lstm.jsonl
$R $(seq -s, 40 79) $L 'd2:"delta":2' 'd2_sgfs:"delta":2,"surrogate":"fast_sigmoid","surrogate_options":{"slope":10.0}'
