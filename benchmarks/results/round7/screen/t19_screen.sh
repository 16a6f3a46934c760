#!/bin/bash
# /tmp/t19_screen.sh DATA SEEDS TAG [KEY=VAL ...]
cd /work/wt/t19rnn
D=$1; S=$2; T=$3; shift 3
OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMBA_NUM_THREADS=1 nice -n 19 .venv/bin/python benchmarks/bench_accuracy.py --quiet --threads 1 --models snn_rnn --recipes plain --split val --data $D --out benchmarks/results/round7/screen --tag $T --seeds $S --neuron "$@"
