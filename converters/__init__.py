"""Converters: torch dense RNN/LSTM/GRU models, spikernn spiking models and NIR graphs -> hardware-level
:class:`~spikernn.hardware.network.Network` descriptions that run on Lava processes (``backend="lava"``) and
the fast simulator (``backend="fast"``).

Public API::

    to_lava(model, precision="float", *, threshold=0.0, input_threshold=None, batch_first=None) -> Network
    verify(model, net, x, lengths=None, backend="fast", *, atol=1e-5) -> VerificationResult
    to_nir(model, dt=1e-4) -> nir.NIRGraph
    from_nir(graph, dt=None, *, batch_first=False) -> Network
    convert_file(model_path, out_path, precision="float", threshold=0.0, check_data=None) -> dict

Accepted models: any module whose traced graph (torch.fx) is built from the operations
:mod:`spikernn.converters.graph` maps (recurrent layers, Linear, ReLU/tanh/sigmoid, Dropout, Embedding, Conv1d,
the usual readouts; anything else raises :class:`UnsupportedModelError` naming it), bare recurrent layers and
spikernn's own classifiers (:mod:`spikernn.converters.dense`, :mod:`spikernn.converters.spiking`);
NIR mapping and the snntorch equivalence conditions: :mod:`spikernn.converters.nir_bridge`.
"""
from spikernn.converters.api import VerificationResult, model_output, to_lava, verify
from spikernn.converters.graph import UnsupportedModelError
from spikernn.converters.files import convert_file, format_summary, load_model, save_dense
from spikernn.converters.nir_bridge import from_nir, to_nir

__all__ = ["to_lava", "verify", "VerificationResult", "UnsupportedModelError", "to_nir", "from_nir", "convert_file", "format_summary",
           "load_model", "save_dense",
           "model_output"]
