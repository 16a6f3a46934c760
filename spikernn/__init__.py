"""spikernn: recurrent spiking RNN/LSTM/GRU, conversion to Loihi-style Lava processes, simulated
neuromorphic hardware and energy reports.

``import spikernn`` imports torch but never Lava; ``spikernn.hardware`` loads Lava lazily.
"""
__version__ = "0.1.0"

from spikernn import activity, datasets, functional, protocol
from spikernn._checks import set_finite_checks
from spikernn.activity import LayerActivity, mean_firing_rate
from spikernn.cells import SpikingGRUCell, SpikingLSTMCell, SpikingRNNCell
from spikernn.encoders import DeltaEncoder, DirectEncoder, RateEncoder, make_encoder
from spikernn.functional import GRUState, LSTMState, RNNState
from spikernn.io import load, register, save
from spikernn.layers import SpikingGRU, SpikingLSTM, SpikingRNN
from spikernn.models import DenseSequenceClassifier, SpikingSequenceClassifier
from spikernn.neurons import NeuronOptions
from spikernn.protocol import RunContext, call_model, run_context
from spikernn.readout import LeakyReadout
from spikernn.training import evaluate, train

__all__ = [
    "__version__", "SpikingRNN", "SpikingLSTM", "SpikingGRU", "SpikingRNNCell", "SpikingLSTMCell", "SpikingGRUCell",
    "RNNState", "LSTMState", "GRUState", "NeuronOptions", "LeakyReadout", "DirectEncoder", "RateEncoder",
    "DeltaEncoder", "make_encoder", "SpikingSequenceClassifier", "DenseSequenceClassifier", "LayerActivity",
    "mean_firing_rate", "save", "load", "register", "train", "evaluate", "datasets", "functional", "activity",
    "protocol", "RunContext", "run_context", "call_model", "set_finite_checks",
]
