#!/bin/bash
# round 7 screen queue: run_screen.sh DATA "TAG:NEURON-OPTS" ...  (val split, 3 seeds, plain recipe, snn_lstm)
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMBA_NUM_THREADS=1
data=$1; shift
for spec in "$@"; do
  tag=${spec%%:*}; opts=${spec#*:}
  echo "$(date +%T) $data $tag [$opts] load $(cut -d' ' -f1 /proc/loadavg)"
  nice -n 19 .venv/bin/python benchmarks/bench_accuracy.py --quiet --threads 1 --models snn_lstm --recipes plain \
    --split val --data $data --out benchmarks/results/round7/screen --tag $tag --seeds ${SEEDS:-3} ${opts:+--neuron $opts}
done
echo "$(date +%T) done"
