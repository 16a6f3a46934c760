#!/bin/bash
# queue 5: lr2e2 and base on 20 more hold-outs (20-39); lr 1.5e-2 on hold-outs 0-19 (is the lr curve smooth?)
cd "$(dirname "$0")/../../../.."
R=benchmarks/results/round10/f17lstm/run_f17lstm.sh
L=benchmarks/results/round10/f17lstm/screen_jv_lstm_f17lstm.jsonl
while kill -0 25027 2>/dev/null; do sleep 5; done
$R $(seq -s, 20 39) $L 'base:' 'lr2e2:"lr":0.02'
$R $(seq -s, 0 19) $L 'lr15e3:"lr":0.015'
