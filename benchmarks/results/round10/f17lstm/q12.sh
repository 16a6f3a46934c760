#!/bin/bash
# queue 12 (after the recipe was chosen and tested; for the next round): the fast sigmoid's slope on d2, hold-outs 0-39
cd "$(dirname "$0")/../../../.."
R=benchmarks/results/round10/f17lstm/run_f17lstm.sh
L=benchmarks/results/round10/f17lstm/screen_jv_lstm_f17lstm.jsonl
$R $(seq -s, 0 39) $L \
  'd2_sgfs5:"delta":2,"surrogate":"fast_sigmoid","surrogate_options":{"slope":5.0}' \
  'd2_sgfs20:"delta":2,"surrogate":"fast_sigmoid","surrogate_options":{"slope":20.0}'
