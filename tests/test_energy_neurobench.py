"""NeuroBench-definition metrics computed by spikernn, checked against counts made by hand: a SpikingRNN
whose spikes are worked out step by step, SpikingLSTM/GRU with zeroed synapses and padding, and a converted
network. (Agreement with NeuroBench's own code: tests/test_neurobench.py.)"""
import numpy as np
import pytest
import torch

import spikernn as snr
from spikernn.energy.neurobench_metrics import network_metrics, neurobench_metrics
from spikernn.hardware.network import Network, Population, SynapseBlock
from spikernn.hardware.stats import ActivityStats


def test_spiking_rnn_counted_by_hand():
    """SpikingRNN(2, 2), no bias, decay 0.9, threshold 1, subtract reset.
    W_ih = [[2, 0], [0, 0]], W_hh = [[0, 0], [1.5, 0]]; x_t = [1, .5], [0, .5], [1, 0].
      t0: u = (2, 0)          -> spikes (1, 0), v0 = 1
      t1: u = (0.9, 0 + 1.5)   -> spikes (0, 1)
      t2: u = (0.81 + 2, 0.45) -> spikes (1, 0)
    ih (analog input: MACs): nonzero x x nonzero weights in its column: t0 1 (x1 meets a zero column), t1 0,
    t2 1 -> 2. hh (spikes: ACs): previous spikes (0,0), (1,0), (0,1) x column nonzeros (1, 0) -> 1.
    Dense: 3 steps x (2x2 + 2x2) = 24. Activation sparsity 1 - 3/6. Connection sparsity 6 zeros of 8."""
    m = snr.SpikingRNN(2, 2, bias=False, neuron="lif", decay=0.9, threshold=1.0).eval()
    with torch.no_grad():
        m.weight_ih_l0.copy_(torch.tensor([[2.0, 0.0], [0.0, 0.0]]))
        m.weight_hh_l0.copy_(torch.tensor([[0.0, 0.0], [1.5, 0.0]]))
    x = torch.tensor([[[1.0, 0.5]], [[0.0, 0.5]], [[1.0, 0.0]]])  # (T=3, B=1, I=2)
    out, _ = m(x)
    assert out[:, 0].tolist() == [[1, 0], [0, 1], [1, 0]]
    r = neurobench_metrics(m, x)
    assert r.samples == 1
    assert (r.effective_macs, r.effective_acs, r.dense) == (2, 1, 24)
    assert r.activation_sparsity == pytest.approx(0.5)
    assert r.connection_sparsity == pytest.approx(6 / 8)
    assert r.footprint_bytes == sum(t.numel() * t.element_size() for t in m.state_dict().values())
    assert r.per_layer["model.l0.ih"]["effective"] == 2 and r.per_layer["model.l0.hh"]["spiking"]


@pytest.mark.parametrize("cls,gates", [(snr.SpikingLSTM, 4), (snr.SpikingGRU, 3)])
def test_gated_layers_with_padding_and_zeroed_synapses(cls, gates):
    """Valid steps only: ih = valid steps x I x G*H (every input and weight nonzero); hh = each spike except
    a sequence's last valid one, times the nonzeros of its W_hh column (neuron 1's column zeroed: 0)."""
    torch.manual_seed(0)
    I, H = 3, 4
    m = cls(I, H, threshold=0.05).eval()
    with torch.no_grad():
        m.weight_hh_l0[:, 1] = 0.0
    x = torch.randn(5, 2, I)
    lengths = torch.tensor([5, 3])
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths)
    with torch.no_grad():
        out, _ = m(packed)
    S, _ = torch.nn.utils.rnn.pad_packed_sequence(out)  # (T, B, H), zero after each end
    r = neurobench_metrics(m, x, lengths=lengths, samples=2,
                           forward=lambda mod, xx, ll: mod(torch.nn.utils.rnn.pack_padded_sequence(xx, ll)))
    assert r.effective_macs == pytest.approx((5 + 3) * I * gates * H / 2)
    fed_back = S[:4, 0].sum(0) + S[:2, 1].sum(0)  # spikes that reach a next step, per neuron
    nnz = (m.weight_hh_l0.detach() != 0).sum(0).float()
    assert nnz[1] == 0 and r.effective_acs == pytest.approx(float(fed_back @ nnz) / 2)
    assert r.dense == pytest.approx((5 + 3) * (I + H) * gates * H / 2)
    assert r.activation_sparsity == pytest.approx(1 - float(S.sum()) / ((5 + 3) * H))
    assert 0 < float(S.sum()) < (5 + 3) * H  # the check is not vacuous


def test_classifier_readout_and_two_layers():
    """A two-layer bidirectional classifier: layer 1's input synapses see layer 0's spikes (ACs), the readout
    sees the last layer's spikes (ACs); only layer 0's input synapses do MACs."""
    torch.manual_seed(1)
    m = snr.SpikingSequenceClassifier("gru", 4, 5, 3, num_layers=2, bidirectional=True, threshold=0.1).eval()
    x = torch.randn(2, 6, 4)
    r = neurobench_metrics(m, x)
    spiking = {k: v["spiking"] for k, v in r.per_layer.items()}
    assert spiking == {"rnn.l0.ih": False, "rnn.l0.hh": True, "rnn.l0_reverse.ih": False, "rnn.l0_reverse.hh": True,
                       "rnn.l1.ih": True, "rnn.l1.hh": True, "rnn.l1_reverse.ih": True, "rnn.l1_reverse.hh": True,
                       "readout": True}
    assert r.effective_macs == pytest.approx(2 * 6 * 4 * 15)  # both directions, every (nonzero) input
    assert r.per_layer["readout"]["dense"] == pytest.approx(6 * 10 * 3)


def test_dense_lstm_counted_as_cells_with_a_note():
    torch.manual_seed(2)
    m = snr.DenseSequenceClassifier("lstm", 3, 4, 2).eval()
    r = neurobench_metrics(m, torch.randn(2, 5, 3))
    assert any("raises on whole nn.RNN/LSTM/GRU" in n for n in r.notes)
    assert r.activation_sparsity is None and r.effective_acs == 0
    # per step 4H(I+H) MACs (none for h at t=0) + NeuroBench's cell products; the head once
    assert r.effective_macs > 5 * 4 * 4 * 3 + 4 * 4 * 4 * 4


def test_converted_network_counted_by_hand():
    """Host input (2, graded) -> 3 LIF (binary spikes, recurrent); 2 steps, batch 2.
    in->h: 5 nonzero weights of 6; h->h: 3 of 9. Synaptic ops (from the activity): in->h [10, 6] (MACs: graded
    source), h->h [3, 0] (ACs). Dense per inference: 6 x 2 + 9 x 2 = 30. Events of h: 3 of 12 updates."""
    w_in = np.ones((3, 2))
    w_in[0, 0] = 0
    w_rec = np.zeros((3, 3))
    w_rec[:, 0] = [1, 2, 3]
    net = Network(populations=[Population("x", "input", 2), Population("h", "lif", 3)],
                  synapses=[SynapseBlock("in->h", "x", "h", "in", w_in), SynapseBlock("h->h", "h", "h", "in", w_rec)],
                  input="x", outputs=["h"])
    stats = ActivityStats(steps=2, batch=2, events={"x": np.array([4, 2]), "h": np.array([3, 0])},
                          synaptic_ops={"in->h": np.array([10, 6]), "h->h": np.array([3, 0])},
                          neuron_updates={"h": 12}, message_bits={"x": 24, "h": 1})
    r = network_metrics(net, stats)
    assert (r.effective_macs, r.effective_acs, r.dense) == (8, 1.5, 30)
    assert r.activation_sparsity == pytest.approx(1 - 3 / 12)
    assert r.connection_sparsity == pytest.approx((1 + 6) / 15)
    assert r.footprint_bytes == 15 * 4 and r.samples == 2
