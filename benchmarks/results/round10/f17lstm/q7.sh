#!/bin/bash
# queue 7: round 9's d2 (tuned_adlif_th02_d2) on hold-outs 0-39 as this session's reference; lr2e2_d2 on 20-39
cd "$(dirname "$0")/../../../.."
R=benchmarks/results/round10/f17lstm/run_f17lstm.sh
L=benchmarks/results/round10/f17lstm/screen_jv_lstm_f17lstm.jsonl
while kill -0 8699 2>/dev/null; do sleep 5; done
$R $(seq -s, 0 39) $L 'd2:"delta":2'
$R $(seq -s, 20 39) $L 'lr2e2_d2:"lr":0.02,"delta":2'
