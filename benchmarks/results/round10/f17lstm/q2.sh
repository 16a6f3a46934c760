#!/bin/bash
# queue 2: pure option changes on top of base (tuned_adlif_th02), hold-outs 0-19
cd "$(dirname "$0")/../../../.."
R=benchmarks/results/round10/f17lstm/run_f17lstm.sh
L=benchmarks/results/round10/f17lstm/screen_jv_lstm_f17lstm.jsonl
S=$(seq -s, 0 19)
while pgrep -f "screen_japanese_vowels.py" > /dev/null; do sleep 5; done
$R $S $L \
  'e40:"epochs":40' \
  'e80:"epochs":80' \
  'lr2e2:"lr":0.02' \
  'wu01:"warmup":0.1' \
  'wu05:"warmup":0.5' \
  'ls005:"label_smoothing":0.05' \
  'crop03:"crop":0.3' \
  'crop01:"crop":0.1' \
  'bfast:"beta_range":[0.8187307530779818,0.9834714538216174]' \
  'aslow:"alpha_range":[0.8187307530779818,0.9900498337491681]' \
  'clip2:"clip":2.0' \
  'bs64:"batch":64' \
  'h192:"hidden":192' \
  'rd09:"readout_decay":0.9' \
  'sgfs:"surrogate":"fast_sigmoid","surrogate_options":{"slope":10.0}'
