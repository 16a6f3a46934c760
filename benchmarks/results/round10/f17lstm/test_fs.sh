#!/bin/bash
# test split, round 10's finalist tuned_adlif_th02_d2_fs (chosen on 120 hold-outs before this run), 10 seeds
# (seeds 0-2 = the protocol's 3-seed figure), beside test.sh's tuned_adlif_th02 / _d2 runs of the same session
cd "$(dirname "$0")/../../../.."
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
nice -n 19 .venv/bin/python benchmarks/bench_accuracy.py --data japanese_vowels --models snn_lstm \
  --recipes tuned_adlif_th02_d2_fs --seeds 10 --threads 1 --quiet --out benchmarks/results/round10/f17lstm/test \
  --tag f17lstm_th02_d2_fs
