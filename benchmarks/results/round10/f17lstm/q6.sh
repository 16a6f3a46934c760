#!/bin/bash
# queue 6: per-step (TET-style) loss, hold-outs 0-19
cd "$(dirname "$0")/../../../.."
R=benchmarks/results/round10/f17lstm/run_f17lstm.sh
L=benchmarks/results/round10/f17lstm/screen_jv_lstm_f17lstm.jsonl
$R $(seq -s, 0 19) $L 'tet05_h:"tet":0.5,"tet_from":0.5' 'tet05:"tet":0.5' 'tet1_h:"tet":1.0,"tet_from":0.5'
