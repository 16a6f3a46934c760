#!/usr/bin/env bash
# Round 10 screen of SpikingRNN's rate bound: a lower bound (rate_floor) against the default (rate_target 0.12
# alone), on the val split of the UEA sets (stratified 20 % hold-out of each training split) and on
# tts_words_dev (tts_words' training split, tested on voices in neither split). No test split is read.
# rate_floor was an option of the screening build only (removed after this screen, which it lost): the floor
# lines fail on the released code; the default and no-bound lines still run.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
OUT=benchmarks/results/round10/screen
PY=.venv/bin/python
case "${1:-uea}" in
  uea)  DATA="--data japanese_vowels,basic_motions,gun_point,italy_power_demand,plaid --split val";;
  tts)  DATA="--data tts_words_dev";;
esac
$PY benchmarks/bench_accuracy.py $DATA --models lstm,snn_rnn --recipes plain --seeds 3 --out $OUT --tag "${1:-uea}_default" --quiet
for f in 0.03 0.05; do
  $PY benchmarks/bench_accuracy.py $DATA --models snn_rnn --recipes plain --seeds 3 --neuron rate_floor=$f \
      --out $OUT --tag "${1:-uea}_floor$f" --quiet
done
# the default before round 10 (no rate bound), for comparison
$PY benchmarks/bench_accuracy.py $DATA --models snn_rnn --recipes plain --seeds 3 --neuron rate_target=null \
    --out $OUT --tag "${1:-uea}_nobound" --quiet
