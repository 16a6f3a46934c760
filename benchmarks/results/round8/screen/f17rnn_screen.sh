#!/bin/bash
# benchmarks/results/round8/screen/f17rnn_screen.sh DATA SEEDS TAG [KEY=VAL ...]  (helper f17rnn, round 8)
cd "$(dirname "$0")/../../../.."
D=$1; S=$2; T=$3; shift 3
OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMBA_NUM_THREADS=1 nice -n 19 .venv/bin/python benchmarks/bench_accuracy.py --quiet --threads 1 --models snn_rnn --recipes plain --split val --data $D --out benchmarks/results/round8/screen --tag $T --seeds $S --neuron "$@"
