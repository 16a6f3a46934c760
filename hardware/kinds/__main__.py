"""``python -m spikernn.hardware.kinds`` prints docs/hardware_kinds.md (the table of every neuron kind, written
from the kinds' own definitions; a test checks that the file is current)."""
from spikernn.hardware.kinds import markdown

print(markdown(), end="")
