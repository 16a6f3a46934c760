#!/usr/bin/env bash
# Round 10: θ0 0.5 against the default on the other sets (val hold-outs 0-2 of the four UEA sets; tts_words_dev)
set -euo pipefail
cd "$(dirname "$0")/../../../.."
OUT=benchmarks/results/round10/screen/rnn_theta
PY=.venv/bin/python
$PY benchmarks/bench_accuracy.py --data tts_words_dev --models snn_rnn --recipes plain --seeds 3 --neuron threshold=0.5 \
    --out $OUT --tag "tts_threshold=0.5" --quiet
for vs in 0 1 2; do
  for cand in default threshold=0.5; do
    opt=(); [ "$cand" != default ] && opt=(--neuron "$cand")
    $PY benchmarks/bench_accuracy.py --data japanese_vowels,basic_motions,gun_point,italy_power_demand --split val \
        --val-seed $vs --models snn_rnn --recipes plain --seeds 3 "${opt[@]}" --out $OUT --tag "uea_${cand}_v$vs" --quiet
  done
done
