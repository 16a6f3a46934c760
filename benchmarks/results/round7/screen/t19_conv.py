"""Conversion benchmark with the round-7 candidate (θ0 0.6, b [0, 12]) patched in as SpikingRNN's defaults."""
import sys
sys.path.insert(0, "benchmarks")
import spikernn.neurons as N
N.CELL_RANGES[("rnn", "adlif")] = {**N.CELL_RANGES[("rnn", "adlif")], "b": (0.0, 12.0)}
N.CELL_THRESHOLD[("rnn", "adlif")] = 0.6
import bench_conversion_japanese_vowels as B
B.main(sys.argv[1:])
