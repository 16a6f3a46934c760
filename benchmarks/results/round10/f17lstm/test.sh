#!/bin/bash
# test split, the two existing recipes (both chosen before this round; nothing is chosen from these figures),
# 10 seeds each, one process at a time
cd "$(dirname "$0")/../../../.."
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
O=benchmarks/results/round10/f17lstm/test
for rc in tuned_adlif_th02 tuned_adlif_th02_d2; do
  nice -n 19 .venv/bin/python benchmarks/bench_accuracy.py --data japanese_vowels --models snn_lstm --recipes $rc \
    --seeds 10 --threads 1 --quiet --out $O --tag f17lstm_${rc#tuned_adlif_}
done
