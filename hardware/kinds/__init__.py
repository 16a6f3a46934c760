"""Neuron kinds of the simulated chip: one typed definition per kind, one file each, all in :data:`KINDS`.

==============  =======================================================================================
kind            what it is (file)
==============  =======================================================================================
input           host input x_t, values or sigma-delta changes (``input.py``)
lif             recurrent LIF soma: Lava's LIF plus reset modes and an adaptive threshold (``lif.py``)
adlif           recurrent adaptive LIF soma with an adaptation current (Bittar & Garner 2022) (``adlif.py``)
spiking_lstm    spiking LSTM neuron, LIF soma: analog gates and cell inside, binary spikes out (``spiking_lstm.py``)
adlif_lstm      the same LSTM cell with the adLIF soma (``spiking_lstm.py``)
spiking_gru     spiking GRU neuron, LIF soma (ports "in" and "rec") (``spiking_gru.py``)
adlif_gru       the same GRU cell with the adLIF soma (``spiking_gru.py``)
sd_rnn          sigma-delta RNN neuron (tanh / relu) of a converted dense RNN (``sd_rnn.py``)
sd_lstm         sigma-delta LSTM neuron of a converted dense LSTM (``sd_lstm.py``)
sd_gru          sigma-delta GRU neuron of a converted dense GRU (``sd_gru.py``)
readout         leaky-integrator readout read by the host (``readout.py``)
==============  =======================================================================================

:func:`describe` prints every kind's ports, parameters (defaults, units, ranges) and settings; the
description itself is :class:`~spikernn.hardware.kinds.spec.NeuronKind`. Adding a kind is one file defining a
``NeuronKind`` subclass and its instance, plus its line in :data:`KINDS`. The spiking kinds are built from a
drive and a soma (:mod:`~spikernn.hardware.kinds.soma`: the LIF and adLIF somas, written once): a gated
kind with another soma is one more instance (``spiking_lstm("adlif_lstm", ADLIF_SOMA)``).

>>> from spikernn.hardware.kinds import KINDS
>>> KINDS["spiking_lstm"].gates, KINDS["spiking_lstm"].message_bits, KINDS["sd_gru"].message_bits
({'in': 4}, 1, 24)
"""
from __future__ import annotations

from spikernn.hardware.kinds.adlif import ADLIF
from spikernn.hardware.kinds.input import INPUT
from spikernn.hardware.kinds.lif import LIF
from spikernn.hardware.kinds.readout import READOUT
from spikernn.hardware.kinds.sd_gru import SD_GRU
from spikernn.hardware.kinds.sd_lstm import SD_LSTM
from spikernn.hardware.kinds.sd_rnn import SD_RNN
from spikernn.hardware.kinds.soma import DEFAULT_RESET
from spikernn.hardware.kinds.spec import GRADED_MESSAGE_BITS, PRECISIONS, NeuronKind
from spikernn.hardware.kinds.spiking_gru import ADLIF_GRU, SPIKING_GRU
from spikernn.hardware.kinds.spiking_lstm import ADLIF_LSTM, SPIKING_LSTM

KINDS: dict[str, NeuronKind] = {k.name: k for k in (INPUT, LIF, ADLIF, SPIKING_LSTM, ADLIF_LSTM, SPIKING_GRU,
                                                     ADLIF_GRU, SD_RNN, SD_LSTM, SD_GRU, READOUT)}

__all__ = ["KINDS", "NeuronKind", "kind", "describe", "markdown", "DEFAULT_RESET", "GRADED_MESSAGE_BITS",
           "PRECISIONS"]


FIXED_VS_FLOAT = (
    'Fixed point against float: `fixed_point.dequantize(net)` is the float network with exactly the fixed\n'
    "network's effective parameters, so the two differ only by the arithmetic's rounding. They give the same bits\n"
    'where nothing rounds (decays 1, every synaptic sum exact - weight exponents >= 0 for spikes, inputs on a grid\n'
    'the block keeps - and a memoryless readout). Otherwise every step rounds where the float run keeps the\n'
    "fraction: Lava's 12-bit decay truncates toward zero (< 1 unit of v), a block with a negative weight exponent\n"
    'floors its sum (< 1 LSB of the input), the adaptive threshold floors b_a a. A membrane then stays within\n'
    "b_t = beta b_{t-1} + 1 + 64 n_floor (+ the threshold's error) units of v (lif: 2**-(F+6) input units) of the\n"
    'float run, and one within that bound of its threshold can spike a step apart, after which the two runs\n'
    'differ by that spike. Measured (benchmarks/bench_fixed_vs_dequantized.py: 2 x 16 LIF, decay 0.75, 40 steps,\n'
    '3 inputs): 47 of 160 random draws had a differing spike, 1,626 of 614,400 spike slots (0.26 %); membranes\n'
    'came within 0.977 of the bound before the first.\n'
)


def kind(name: str) -> NeuronKind:
    """The kind called ``name``; ValueError listing the known kinds otherwise."""
    try:
        return KINDS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown neuron kind {name!r}; known: {sorted(KINDS)}") from None


def describe() -> str:
    """Every kind's ports, parameters and settings, one block per kind (the docs table)."""
    return "\n\n".join(k.describe() for k in KINDS.values())


def markdown() -> str:
    """docs/hardware_kinds.md: :func:`describe` with a title (``python -m spikernn.hardware.kinds`` prints it)."""
    return ("# Neuron kinds of the simulated chip\n\n"
            "Written by `python -m spikernn.hardware.kinds` from the kinds' definitions (`hardware/kinds/`); do not "
            "edit by hand.\n\n```text\n" + describe() + "\n```\n\n" + FIXED_VS_FLOAT)
