#!/usr/bin/env bash
# Round 10 screen of SpikingRNN's adLIF θ0 (default 1.0, learnable) for the near-silent PLAID seeds: PLAID on 5
# stratified hold-outs of its training split (--val-seed 0-4) x 3 model seeds, then the other val sets and
# tts_words_dev for any candidate that wins there. No test split is read.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
OUT=benchmarks/results/round10/screen/rnn_theta
PY=.venv/bin/python
for cand in default threshold=0.5 threshold=0.7; do
  for vs in 0 1 2 3 4; do
    opt=(); [ "$cand" != default ] && opt=(--neuron "$cand")
    $PY benchmarks/bench_accuracy.py --data plaid --split val --val-seed $vs --models snn_rnn --recipes plain \
        --seeds 3 "${opt[@]}" --out $OUT --tag "plaid_${cand}_v$vs" --quiet
  done
done
