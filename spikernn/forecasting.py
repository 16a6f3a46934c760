"""Forecasting (regression) with spiking or dense recurrent layers: a model, an MSE training loop, predictions.

    >>> import spikernn as snr
    >>> from spikernn import forecasting
    >>> train, test = snr.datasets.load("airline", window=12)
    >>> model = forecasting.Forecaster(snr.SpikingGRU(1, 16, batch_first=True), horizon=1)
    >>> _ = forecasting.fit(model, train, epochs=1)
    >>> tuple(forecasting.predict(model, test).shape) == tuple(test.y.shape)
    True

:class:`Forecaster` reads a window ``x`` (B, T, 1) with a recurrent layer (``snr.SpikingGRU/LSTM/RNN`` — its
neurons talk to each other only through spikes — or ``torch.nn.GRU/LSTM/RNN``) and maps the layer's
output to ``horizon`` values. For regression give the spiking layer graded spikes, ``neuron="delta"`` (Loihi 2
sigma-delta events: each neuron sends the change of its value when it exceeds the event threshold; the
layer's output is what the receivers hold), and read it with ``readout="leaky", readout_decay=0.0``: that path
converts whole to the hardware backends. With the event threshold ϑ = :data:`GRADED_THRESHOLD` and the input
weights at torch's scale (:func:`torch_input_init`) — the recipe :func:`graded` — a SpikingGRU forecasts
Airline, Lynx and Mackey-Glass one and five steps ahead within 1.2x of a dense GRU (1.06x at most), and so does a
SpikingLSTM (1.13x at most), both trained with the straight-through gradient of their event masks
(:data:`GRADED_STRAIGHT_THROUGH`; with the exact gradient the LSTM's Mackey-Glass one step was 1.204x), where
binary spikes stay 1.2-5x
(``benchmarks/results/round5/forecasting_r5.md``, ``benchmarks/results/round9/forecasting_f17mg.md``; earlier
rounds in ``benchmarks/results/forecasting.md``).
The readouts:

* ``readout="mean"`` (the drop-in recipe): ``nn.Linear`` on the mean of the layer's output over the last
  ``last_steps`` steps (all steps by default);
* ``readout="leaky"``: a :class:`~spikernn.readout.LeakyReadout` (a non-spiking integrator neuron fed by the
  spikes, ``y_t = β_out y_{t-1} + W s_t + b``) read at the last step; with ``.rnn`` and ``.readout`` the model
  has the shape :func:`spikernn.converters.to_lava` converts whole (readout population included).
* ``readout="state"``: ``nn.Linear`` on the analog state inside each last-layer neuron at the last step
  (GRU ``h``, LSTM cell state ``c``, RNN membrane ``v``; a dense layer's last hidden state). The neurons
  still talk to each other only through spikes for the whole window; the host reads each output neuron's
  state once per forecast (on Loihi 2: one graded spike per output neuron at the last step). The measured
  reason it exists: a rate code of binary spikes read through a leaky readout forecast Mackey-Glass 10-16x
  worse than a dense GRU (``benchmarks/results/accuracy_notes.md``).

``residual=True`` (default) adds the window's last value to every output, so the network learns the change
from the last observation (the naive forecast) rather than the level: the same host-side skip for dense and
spiking models, and the reason a forecaster cannot do worse than the naive forecast by learning nothing.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

import torch
from torch import Tensor, nn

from spikernn.activity import mean_firing_rate
from spikernn.datasets import ForecastData
from spikernn.readout import LeakyReadout
from spikernn.training import WeightAverage

READOUTS = ("mean", "leaky", "state")
# The event threshold ϑ of the graded-spike forecasting recipe (``neuron="delta", threshold=GRADED_THRESHOLD``
# with :func:`torch_input_init` and ``readout="leaky", readout_decay=0.0``). Measured, 3 seeds, test RMSE over
# nn.GRU's (benchmarks/results/accuracy.md, "Round 3 — forecasting"; events per neuron per step in brackets):
# ϑ = 0.05 (the core's default) 1.2-1.5x on Airline and Lynx; ϑ = 0.02 Airline 1.15x (0.57), Lynx 1.06x (0.83);
# ϑ = 0.01 Airline 1.20x (0.77), Lynx 1.03x (0.92), Mackey-Glass one step (200 epochs) 1.27x / SpikingLSTM
# 1.74x, the misses. Round 5 (benchmarks/results/round5/forecasting_r5.md), chosen on the validation tail of the
# training part (bench_forecasting --split val), SpikingGRU / SpikingLSTM over nn.GRU: ϑ = 0.005 Mackey-Glass
# one step 0.98x / 1.02x (1 seed; ϑ 0.01: 1.25x; ϑ 0.0025 LSTM 1.03x; with a second seed the LSTM 1.25x),
# Airline 0.99x / 1.03x, Lynx 0.98x / 0.94x (3 seeds; ϑ 0.01: 1.00x / 1.07x, 0.98x / 0.98x). Test, 3 seeds:
# Mackey-Glass one step 1.18x / 1.20x (1.204x, the LSTM's one miss; ϑ 0.01: 1.27x / 1.74x), five steps
# 1.02x / 1.08x, Airline 1.02x / 1.19x, Lynx 1.02x / 1.08x, all below naive, 0.78-0.96 events per neuron per
# step. One-step Mackey-Glass needs its error below ~0.005 in z-scored units; the readout reads what the
# neurons sent, off by up to ϑ each. ϑ = 0 is the dense cell exactly (every change sent).
GRADED_THRESHOLD = 0.005
# β_out of the graded recipe's readout population (see :func:`graded`). Round 5 (validation tail, as above): at
# ϑ 0.01, 0.5 closed Mackey-Glass one step for SpikingGRU (1.00x) but not SpikingLSTM (1.12x; 0.8: 1.31x); at
# ϑ 0.005 it cost Lynx (1.04x / 1.01x against 0.98x / 0.94x at 0) and Airline: the readout stays linear (0)
GRADED_READOUT_DECAY = 0.0
# Added to the SpikingLSTM's forget-gate bias (the f rows of ``bias_ih``) at initialisation in the graded recipe
# (:func:`graded`; the usual LSTM forget-bias init, Gers et al. 2000; GRU layers have no forget gate and get none).
# Round 6 (benchmarks/results/round6/forecasting_r6.md), SpikingLSTM over nn.GRU: 1.0 on the validation tail
# Mackey-Glass one step 1.08x (5 seeds; without, 3 seeds: 1.19x), Airline 0.97x (1.03x), Lynx 0.97x (0.94x), five
# steps 0.91x (1.01x; 2 seeds); on test (3 seeds) it did not confirm: Mackey-Glass one step 1.25x (without:
# 1.204x), five steps 0.84x (1.08x), Airline 1.15x (1.19x), Lynx 1.10x (1.08x). Not adopted: 0. Adam 6e-3 closed
# the LSTM on validation (1.00x, 2 seeds) but the dense GRU gains more from it (0.73x of itself at 3e-3).
GRADED_FORGET_BIAS = 0.0
# The sigma-delta soma's gradient in the graded recipe, per cell kind (``straight_through``, :func:`graded`;
# spikernn.functional.delta_step): True trains with the straight-through gradient of the event mask (∂ŝ_t/∂y_t = 1,
# the dense cell's gradient at the quantised forward) instead of the exact one (m_t: nothing reaches y_t at a step
# that sent no event); the forward, conversion and hardware are unchanged. Round 9
# (benchmarks/results/round9/forecasting_f17mg.md), Mackey-Glass one step, validation tail, 5 seeds: SpikingLSTM
# 0.001295 against 0.001516 (-14.6 %), SpikingGRU 0.001199 against 0.001366 (-12.2 %; nn.GRU 0.001219). Test, 3
# seeds, over nn.GRU (exact gradient in brackets): SpikingLSTM Mackey-Glass one step 1.13x (1.204x, the recipe's
# one miss), five steps 1.07x (1.08x), Airline 1.04x (1.20x), Lynx 1.07x (1.08x); SpikingGRU 1.06x (1.18x), 1.03x
# (1.02x), 0.99x (1.02x), 1.01x (1.02x). The SpikingRNN (not in the harness) keeps the exact gradient.
GRADED_STRAIGHT_THROUGH = {"lstm": True, "gru": True}
# the graded recipe's training options for :func:`fit` (the harness gives the dense layers the same)
GRADED_FIT = {"clip_grad": 1.0, "scheduler": "cosine"}
# the analog state inside each neuron of the last layer that the "state" readout reads, per state field name
_STATE_FIELDS = ("h", "c", "v")


class Forecaster(nn.Module):
    """``rnn`` (batch-first recurrent layer) -> readout -> (B, horizon) (see the module docstring).

    Args:
        rnn: a batch-first ``snr.SpikingGRU/LSTM/RNN`` or ``torch.nn.GRU/LSTM/RNN`` (unidirectional).
        horizon: values to forecast. readout: "mean" or "leaky". last_steps: the mean readout's window
            (None: all steps). readout_decay: β_out of the leaky readout. residual: add the last input value.
    """

    def __init__(self, rnn: nn.Module, horizon: int = 1, readout: str = "mean", last_steps: Optional[int] = None,
                 readout_decay: float = 0.9, residual: bool = True) -> None:
        super().__init__()
        if readout not in READOUTS:
            raise ValueError(f"readout must be one of {READOUTS}, got {readout!r}")
        if not getattr(rnn, "batch_first", False):
            raise ValueError(f"rnn must be batch-first (construct it with batch_first=True), got {type(rnn).__name__}")
        if getattr(rnn, "bidirectional", False):
            raise ValueError("a forecaster reads the past only: use a unidirectional rnn")
        if last_steps is not None and last_steps < 1:
            raise ValueError(f"last_steps must be None or >= 1, got {last_steps}")
        self.rnn, self.horizon, self.kind, self.last_steps = rnn, int(horizon), readout, last_steps
        self.residual = bool(residual)
        H = int(rnn.hidden_size)
        if readout == "leaky":
            self.readout = LeakyReadout(H, self.horizon, decay=readout_decay)
            if hasattr(rnn, "readout_fan_out"):
                rnn.readout_fan_out = self.horizon
        else:
            self.head = nn.Linear(H, self.horizon)
        self.last_firing_rate: Optional[float] = None

    @property
    def spiking(self) -> bool:
        """Whether the layer is a spikernn spiking layer."""
        return hasattr(self.rnn, "neuron_options")

    def features(self, x: Tensor) -> Tensor:
        """The layer's output sequence (B, T, H): spikes for a spiking layer, hidden states for a dense one."""
        out = self.rnn(x)[0]
        if self.spiking:
            self.last_firing_rate = self._event_rate(out)
        return out

    def _event_rate(self, out: Tensor) -> float:
        """Events per neuron per step of the last forward: spikes, or the graded events of a sigma-delta layer."""
        acts = getattr(self.rnn, "last_activity", None)
        return mean_firing_rate(acts) if acts else float(out.detach().mean())

    def final_state(self, x: Tensor) -> Tensor:
        """The last layer's analog state at the last step (B, H) (see ``readout="state"``)."""
        if self.spiking:  # a full spiking state in gives the full final state (s, v, a, c/h) back
            out, state = self.rnn(x, self.rnn.initial_state(x.shape[0], device=x.device, dtype=x.dtype))
            self.last_firing_rate = self._event_rate(out)
            for name in _STATE_FIELDS:
                if hasattr(state, name):
                    return getattr(state, name)[-1]
            raise TypeError(f"{type(self.rnn).__name__}'s state has none of the fields {_STATE_FIELDS}")
        _, state = self.rnn(x)
        return (state[0] if isinstance(state, tuple) else state)[-1]  # torch: h_n (or (h_n, c_n))

    def forward(self, x: Tensor) -> Tensor:
        """``x`` (B, T, 1) -> forecasts (B, horizon)."""
        if x.dim() != 3 or x.shape[-1] != self.rnn.input_size:
            raise ValueError(f"x must be (B, T, {self.rnn.input_size}), got {tuple(x.shape)}")
        if self.kind == "state":
            y = self.head(self.final_state(x))
            return y + x[:, -1, :1] if self.residual else y
        out = self.features(x)
        if self.kind == "leaky":
            y = self.readout(out.transpose(0, 1))[-1]
        else:
            k = out.shape[1] if self.last_steps is None else min(self.last_steps, out.shape[1])
            y = self.head(out[:, -k:].mean(1))
        return y + x[:, -1, :1] if self.residual else y


def torch_input_init(layer: nn.Module, scale: float = 1.0) -> nn.Module:
    """Re-draw a spikernn layer's input weights ``weight_ih_*`` from torch's U(±1/√H) (H = hidden size), the
    initialisation of the ``torch.nn.GRU/LSTM`` it is compared with; returns ``layer``.

    The spiking layers draw U(±1/√fan-in) (:data:`spikernn.neurons.INPUT_INIT`: binary-spiking neurons fed one
    input feature need the larger drive to fire). A graded-spike (``neuron="delta"``) layer has no firing
    threshold to reach, and with torch's scale it is, at ϑ = 0, the dense layer in distribution. Measured on
    the forecasting harness (3 seeds, ϑ = 0.01, test RMSE): Airline SpikingGRU 0.119 -> 0.088, SpikingLSTM
    0.119 -> 0.088; Lynx 0.239 -> 0.222, 0.261 -> 0.238 (nn.GRU 0.074 and 0.215; nn.GRU itself with the
    fan-in scale: 0.123 and 0.229). On Mackey-Glass one step (200 epochs) it costs: SpikingGRU 0.00137 with the
    fan-in scale, 0.00156 with torch's (nn.GRU 0.00123).
    """
    if not hasattr(layer, "neuron_options"):
        raise TypeError(f"torch_input_init re-initialises spikernn spiking layers, got {type(layer).__name__}")
    bound = float(scale) / float(layer.hidden_size) ** 0.5
    with torch.no_grad():
        for name, p in layer.named_parameters():
            if name.startswith("weight_ih"):
                p.uniform_(-bound, bound)
    return layer


def graded(layer: type, hidden_size: int, horizon: int = 1, *, input_size: int = 1, threshold: Optional[float] = None,
           readout_decay: Optional[float] = None, input_scale: float = 1.0, forget_bias: Optional[float] = None,
           **neuron_options: Any) -> Forecaster:
    """The graded-spike forecasting recipe: ``layer`` (``snr.SpikingGRU/LSTM/RNN``, batch-first) with the
    sigma-delta soma at the event threshold ``threshold`` (default :data:`GRADED_THRESHOLD`), input weights at
    torch's scale (:func:`torch_input_init`, times ``input_scale``), for a SpikingLSTM ``forget_bias`` added to
    the forget gate's bias (default :data:`GRADED_FORGET_BIAS`; other layers: 0, and a nonzero value is refused),
    the straight-through gradient of the event mask where :data:`GRADED_STRAIGHT_THROUGH` says (SpikingLSTM and
    SpikingGRU; ``straight_through=`` overrides) and a readout population with decay ``readout_decay`` (default
    :data:`GRADED_READOUT_DECAY`) read at the last step; train it with ``fit(model, data, **GRADED_FIT)``. The whole model converts to the hardware backends (readout included;
    the residual skip is the host's).

    >>> import spikernn as snr
    >>> m = graded(snr.SpikingGRU, 8)
    >>> m.rnn.neuron_options.threshold == GRADED_THRESHOLD, m.kind
    (True, 'leaky')
    """
    th = GRADED_THRESHOLD if threshold is None else threshold
    neuron_options.setdefault("straight_through", GRADED_STRAIGHT_THROUGH.get(getattr(layer, "kind", None), False))
    rnn = torch_input_init(layer(input_size, hidden_size, batch_first=True, neuron="delta", threshold=th,
                                 **neuron_options), scale=input_scale)
    if forget_bias is None:
        forget_bias = GRADED_FORGET_BIAS if rnn.kind == "lstm" else 0.0
    if forget_bias:
        if rnn.kind != "lstm":
            raise ValueError(f"forget_bias applies to SpikingLSTM only, got {type(rnn).__name__}")
        H = int(hidden_size)
        with torch.no_grad():
            for name, p in rnn.named_parameters():
                if name.startswith("bias_ih"):  # gate order i, f, g, o: add to the forget gate's bias
                    p[H:2 * H] += float(forget_bias)
    return Forecaster(rnn, horizon, readout="leaky",
                      readout_decay=GRADED_READOUT_DECAY if readout_decay is None else readout_decay)


def fit(model: nn.Module, train: ForecastData, *, epochs: int = 100, lr: float = 3e-3, batch_size: int = 32,
        clip_grad: Optional[float] = None, scheduler: str = "none", seed: int = 0,
        swa: float = 0.0, swa_lr: Optional[float] = None,
        on_epoch: Optional[Callable[[int, float], None]] = None) -> list[float]:
    """Train on mean squared error with Adam (a plain loop; ``clip_grad``/``scheduler="cosine"`` optional).
    ``swa``: the parameters after each of the last ``swa`` fraction of the epochs are averaged and the average
    replaces the final parameters (:class:`spikernn.training.WeightAverage`; one model); with ``swa_lr`` the
    schedule spans the epochs before that phase, which runs at the constant ``swa_lr``.
    Returns the training MSE of every epoch (z-scored units)."""
    if scheduler not in ("none", "cosine"):
        raise ValueError(f"scheduler must be 'none' or 'cosine', got {scheduler!r}")
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    avg = WeightAverage(model, epochs, swa, swa_lr)
    steps = avg.schedule_epochs(epochs) * ((len(train) + batch_size - 1) // batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps) if scheduler == "cosine" else None
    hist = []
    model.train()
    for epoch in range(epochs):
        sched = avg.begin_epoch(epoch, opt, sched)
        perm = torch.randperm(len(train), generator=g)
        total = 0.0
        for i in range(0, len(perm), batch_size):
            j = perm[i:i + batch_size]
            loss = nn.functional.mse_loss(model(train.x[j]), train.y[j])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if clip_grad:
                nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
            opt.step()
            if sched is not None:
                sched.step()
            total += float(loss.detach()) * len(j)
        hist.append(total / len(train))
        avg.end_epoch(epoch)
        if on_epoch is not None:
            on_epoch(epoch, hist[-1])
    avg.finish()
    model.eval()
    return hist


@torch.no_grad()
def predict(model: nn.Module, data: ForecastData, batch_size: int = 512) -> Tensor:
    """Forecasts (N, horizon) for every window of ``data`` (z-scored units, like ``data.y``)."""
    was = model.training
    model.eval()
    try:
        return torch.cat([model(data.x[i:i + batch_size]) for i in range(0, len(data), batch_size)], 0)
    finally:
        model.train(was)


@torch.no_grad()
def free_run(model: nn.Module, data: ForecastData, steps: Optional[int] = None) -> Tensor:
    """Autoregressive forecast: start from the first test window and feed each one-step forecast back as the
    newest input, ``steps`` times (default: all of ``data``); returns (steps,) forecasts (z-scored units).
    Needs ``horizon == 1`` and consecutive windows (as :func:`spikernn.datasets.windows` makes them)."""
    if model.horizon != 1:
        raise ValueError(f"free_run needs a one-step model, got horizon {model.horizon}")
    steps = len(data) if steps is None else int(steps)
    was = model.training
    model.eval()
    w = data.x[:1].clone()
    out = []
    try:
        for _ in range(steps):
            y = model(w)[:, :1]
            out.append(y[0, 0])
            w = torch.cat([w[:, 1:], y.unsqueeze(-1)], 1)
    finally:
        model.train(was)
    return torch.stack(out)


def metrics(pred: Tensor, data: ForecastData) -> dict[str, Any]:
    """RMSE (series units) of ``pred`` and of the naive forecast, their ratio, and sMAPE (%)."""
    rmse, naive = data.rmse(pred), data.rmse(data.naive)
    return {"rmse": rmse, "naive_rmse": naive, "rmse_over_naive": rmse / naive, "smape": data.smape(pred)}
