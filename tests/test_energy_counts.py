"""Analytic operation counts of dense RNN/LSTM/GRU inference against hand-computed values and torch."""
import pytest
import torch

from spikernn.energy.counts import (OpCounts, arch_of, cell_step_counts, head_counts, horowitz_estimate,
                                    sequence_counts, step_counts)
from spikernn.energy.figures import horowitz


def test_lstm_cell_small_by_hand():
    # LSTM I=2, H=3: MACs = 4*3*(2+3) = 60; nonlinearities 5H = 15 (3 sigmoid, tanh g, tanh c);
    # elementwise = 12H pre-activation adds (b_ih, b_hh, ih+hh for 4 gates) + 3H cell + H output = 16H = 48;
    # params = 4*3*2 + 4*3*3 + 2*4*3 = 24 + 36 + 24 = 84; fp32 bytes = 336.
    c = cell_step_counts("lstm", 2, 3)
    assert c == OpCounts(macs=60, nonlinearities=15, elementwise=48, weight_bytes=336, params=84)


def test_rnn_and_gru_cells_by_hand():
    # RNN I=4, H=5: MACs 5*(4+5)=45, tanh 5, elementwise 3H=15 (two bias adds + sum), params 45+10=55.
    assert cell_step_counts("rnn", 4, 5) == OpCounts(45, 5, 15, 220, 55)
    # GRU I=2, H=3: MACs 3*3*5=45, nonlin 3H=9, elementwise 14H=42, params 45 + 18 = 63.
    assert cell_step_counts("gru", 2, 3) == OpCounts(45, 9, 42, 252, 63)
    # Without bias the 2GH bias adds and bias parameters go: GRU elementwise 42 - 18 = 24, params 45.
    assert cell_step_counts("gru", 2, 3, bias=False) == OpCounts(45, 9, 24, 180, 45)


@pytest.mark.parametrize("cls", [torch.nn.RNN, torch.nn.LSTM, torch.nn.GRU])
@pytest.mark.parametrize("layers,bidir,bias", [(1, False, True), (2, True, True), (3, False, False)])
def test_params_and_macs_match_torch(cls, layers, bidir, bias):
    m = cls(3, 4, num_layers=layers, bidirectional=bidir, bias=bias)
    arch = arch_of(m)
    c = step_counts(arch.mode, 3, 4, layers, bidirectional=bidir, bias=bias)
    n_params = sum(p.numel() for p in m.parameters())
    assert c.params == n_params
    # every weight matrix entry is one MAC per step
    n_weights = sum(p.numel() for name, p in m.named_parameters() if name.startswith("weight"))
    assert c.macs == n_weights


def test_sequence_counts_with_head():
    # LSTM I=2, H=3, T=5, head 4 once at the end: 5 * step + head (12 MACs, 4 bias adds, 16 params).
    per = cell_step_counts("lstm", 2, 3)
    c = sequence_counts("lstm", 2, 3, 5, head=4)
    assert c.macs == 5 * 60 + 12
    assert c.elementwise == 5 * 48 + 4
    assert c.nonlinearities == 5 * 15
    assert c.params == 84 + 16  # model size, not multiplied by steps
    assert c.weight_bytes == 5 * per.weight_bytes + 16 * 4
    every = sequence_counts("lstm", 2, 3, 5, head=4, head_every_step=True)
    assert every.macs == 5 * (60 + 12)
    assert head_counts(3, 4) == OpCounts(12, 0, 4, 64, 16)


def test_arch_of_classifier_and_unknown():
    class Clf(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = torch.nn.GRU(6, 7, num_layers=2, bidirectional=True)
            self.head = torch.nn.Linear(14, 3)

    a = arch_of(Clf())
    assert (a.mode, a.input_size, a.hidden_size, a.num_layers, a.bidirectional, a.head) == ("GRU", 6, 7, 2, True, 3)
    assert arch_of(torch.nn.Linear(2, 3)) is None


def test_recognise_arch_refuses_what_it_would_undercount():
    """Two recurrent modules, two heads or a head behind an uncounted layer: no counts, and the reason."""
    import spikernn as snr
    from spikernn.energy import recognise_arch

    class TwoLSTMs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b, self.head = torch.nn.LSTM(4, 8), torch.nn.LSTM(8, 8), torch.nn.Linear(8, 2)

    arch, why = recognise_arch(TwoLSTMs())
    assert arch is None and "several recurrent modules (a, b)" in why
    arch, why = recognise_arch(torch.nn.ModuleList([torch.nn.GRU(4, 8), torch.nn.Linear(8, 8), torch.nn.Linear(8, 2)]))
    assert arch is None and "several head layers" in why
    arch, why = recognise_arch(torch.nn.ModuleList([torch.nn.GRU(4, 8, bidirectional=True), torch.nn.Linear(8, 2)]))
    assert arch is None and "reads 8 features" in why and "(16)" in why
    # the project's classifier: one spiking layer (its cells are not counted twice) and its leaky readout
    arch, why = recognise_arch(snr.SpikingSequenceClassifier("gru", 6, 16, 3, num_layers=2))
    assert why == "" and (arch.mode, arch.input_size, arch.hidden_size, arch.num_layers, arch.head) == ("GRU", 6, 16, 2, 3)
    assert arch.head_every_step  # the leaky readout runs at every step: 10 steps count its 16x3 MACs 10 times
    assert arch.sequence_counts(10).macs - arch.sequence_counts(10, head_every_step=False).macs == 9 * 16 * 3
    assert recognise_arch(object())[0] is None


def test_energy_report_says_why_the_analytic_count_is_missing():
    from spikernn.energy import EnergyReport, recognise_arch
    from spikernn.energy.compare import _analytic
    from spikernn.energy.render import sections

    two = torch.nn.Sequential(torch.nn.LSTM(4, 8), torch.nn.LSTM(8, 8))
    why = recognise_arch(two)[1]
    assert _analytic(two, 10) == {"unavailable": why}
    rep = EnergyReport(title="t", inferences=1, steps=10)
    rep.analytic = _analytic(two, 10)
    text = [p for sec in sections(rep) if sec.title.startswith("Analytic") for p in sec.paragraphs]
    assert text == [f"Not computed: {why}."]


def test_horowitz_estimate_by_hand():
    h = horowitz()
    c = OpCounts(macs=100, nonlinearities=10, elementwise=20, weight_bytes=800, params=200)
    e = horowitz_estimate(c, precision="fp32")
    assert e.memory_level == "8kb"  # 200 params * 4 B = 800 B fits 8 KB
    assert e.arithmetic_j == pytest.approx(130 * 4.6e-12)
    assert e.memory_j == pytest.approx(100 * 10e-12)  # 800 B = 100 64-bit reads
    assert e.total_j == pytest.approx(130 * h.fp32_mac_j + 100 * h.read_64bit_8kb_cache_j)
    big = OpCounts(1, 0, 0, 8, 3_000_000)
    assert horowitz_estimate(big).memory_level == "dram"
    with pytest.raises(ValueError, match="precision"):
        horowitz_estimate(c, precision="fp64")


def test_bad_arguments():
    with pytest.raises(ValueError, match="mode"):
        cell_step_counts("transformer", 2, 3)
    with pytest.raises(ValueError, match="hidden_size"):
        cell_step_counts("lstm", 2, 0)
    with pytest.raises(ValueError, match="steps"):
        sequence_counts("lstm", 2, 3, -1)
