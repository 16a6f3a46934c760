#!/bin/bash
# queue 3: round 10's new screen options on top of base (tuned_adlif_th02), hold-outs 0-19
cd "$(dirname "$0")/../../../.."
R=benchmarks/results/round10/f17lstm/run_f17lstm.sh
L=benchmarks/results/round10/f17lstm/screen_jv_lstm_f17lstm.jsonl
S=$(seq -s, 0 19)
while kill -0 23801 2>/dev/null; do sleep 5; done
$R $S $L \
  'rev05:"reverse":0.5' \
  'fm2:"fmask":2' \
  'tm3:"tmask":3' \
  'rmax:"readout_max":true' \
  'insc:"in_scale":true' \
  'stk2:"stack":2' \
  'stk2_rd094:"stack":2,"readout_decay":0.94' \
  'adamw1e2:"opt":"adamw","wd":0.01' \
  'adamw5e2:"opt":"adamw","wd":0.05' \
  'b2_99:"beta2":0.99' \
  'ema98:"ema":0.98' \
  'fm4:"fmask":4' \
  'rev025:"reverse":0.25'
