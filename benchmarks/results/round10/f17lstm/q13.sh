#!/bin/bash
# queue 13 (for the next round): slope 20 on hold-outs 40-79; slope 40 on hold-outs 0-39
cd "$(dirname "$0")/../../../.."
R=benchmarks/results/round10/f17lstm/run_f17lstm.sh
L=benchmarks/results/round10/f17lstm/screen_jv_lstm_f17lstm.jsonl
$R $(seq -s, 40 79) $L 'd2_sgfs20:"delta":2,"surrogate":"fast_sigmoid","surrogate_options":{"slope":20.0}'
$R $(seq -s, 0 39) $L 'd2_sgfs40:"delta":2,"surrogate":"fast_sigmoid","surrogate_options":{"slope":40.0}'
