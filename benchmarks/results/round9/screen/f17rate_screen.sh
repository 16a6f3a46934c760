#!/bin/bash
# benchmarks/results/round9/screen/f17rate_screen.sh DATA SEEDS TAG [KEY=VAL ...]  (helper f17rate, round 9)
cd "$(dirname "$0")/../../../.."
D=$1; S=$2; T=$3; shift 3
OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMBA_NUM_THREADS=1 nice -n 19 .venv/bin/python benchmarks/bench_accuracy.py --quiet --threads 1 --models snn_rnn --recipes plain --split val --data $D --out benchmarks/results/round9/screen --tag $T --seeds $S --neuron "$@"
