#!/bin/bash
# queue 4: peak lr above 1e-2 (lr2e2 led queue 2), hold-outs 0-19
cd "$(dirname "$0")/../../../.."
R=benchmarks/results/round10/f17lstm/run_f17lstm.sh
L=benchmarks/results/round10/f17lstm/screen_jv_lstm_f17lstm.jsonl
S=$(seq -s, 0 19)
while kill -0 24341 2>/dev/null; do sleep 5; done
$R $S $L \
  'lr3e2:"lr":0.03' \
  'lr5e2:"lr":0.05' \
  'lr2e2_d2:"lr":0.02,"delta":2' \
  'lr2e2_e80:"lr":0.02,"epochs":80' \
  'lr2e2_wd3e3:"lr":0.02,"wd":0.003'
