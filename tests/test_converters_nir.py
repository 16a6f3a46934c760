"""NIR export/import: spikernn round trip, snntorch RLeaky graphs from snntorch's own exporter."""
import numpy as np
import pytest
import torch

nir = pytest.importorskip("nir")
# snntorch's exporter calls nirtorch's older API, which announces its own deprecation
pytestmark = pytest.mark.filterwarnings("ignore:nirtorch.extract_nir_graph:DeprecationWarning")

from spikernn.converters import from_nir, to_nir  # noqa: E402
from spikernn.layers import SpikingRNN  # noqa: E402


def _np(a):
    return a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)


def _spikes_equal(a, b):
    return int((_np(a) != _np(b)).sum())


def test_spikernn_nir_round_trip(tmp_path):
    torch.manual_seed(0)
    m = SpikingRNN(3, 7, num_layers=2, reset="zero", threshold=0.4, decay=0.8).double().eval()
    x = torch.randn(12, 3, 3, dtype=torch.float64) * 2
    g = to_nir(m)
    kinds = {k: type(v).__name__ for k, v in g.nodes.items()}
    assert kinds["l0"] == "LIF" and kinds["l0->l0"] in ("Linear", "Affine") and kinds["input->l0"] == "Affine"
    # through a NIR file as well
    nir.write(str(tmp_path / "m.nir"), g)
    for graph in (g, str(tmp_path / "m.nir")):
        net = from_nir(graph)
        out = net.run(x, backend="fast")
        with torch.no_grad():
            ref = m(x)[0]
        assert out.shape == ref.shape
        assert _spikes_equal(out, ref) == 0
        assert ref.mean() > 0.05


def test_subtract_reset_round_trips_with_metadata():
    torch.manual_seed(1)
    m = SpikingRNN(2, 5, reset="subtract", threshold=0.3).double().eval()
    with pytest.warns(UserWarning, match="reset"):
        g = to_nir(m)
    assert g.nodes["l0"].metadata["spikernn_reset"] == "subtract"
    net = from_nir(g)
    x = torch.randn(10, 2, 2, dtype=torch.float64) * 2
    with torch.no_grad():
        assert _spikes_equal(net.run(x, backend="fast"), m(x)[0]) == 0


def test_nir_rejects_what_it_cannot_express():
    from spikernn.layers import SpikingLSTM

    with pytest.raises(ValueError, match="spiking_lstm"):
        to_nir(SpikingLSTM(2, 3))
    with pytest.raises(ValueError, match="reversed"):
        to_nir(SpikingRNN(2, 3, bidirectional=True, reset="zero"))
    with pytest.raises(ValueError, match="adaptive"):
        to_nir(SpikingRNN(2, 3, reset="zero", adapt_scale=0.1, adapt_decay=0.5))
    g = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([2])}),
                            "w": nir.Linear(weight=np.ones((2, 2))),
                            "n": nir.CubaLIF(tau_syn=np.full(2, 5e-4), tau_mem=np.full(2, 1e-3), r=np.full(2, 10.0),
                                             v_leak=np.zeros(2), v_threshold=np.ones(2)),
                            "output": nir.Output(output_type={"output": np.array([2])})},
                     edges=[("input", "w"), ("w", "n"), ("n", "output")])
    with pytest.raises(ValueError, match="CubaLIF"):
        from_nir(g)


def _snntorch_net(snn, I, H, O):
    seq = torch.nn.Sequential(
        torch.nn.Linear(I, H),
        snn.RLeaky(beta=0.85, linear_features=H, threshold=0.7, reset_mechanism="zero", reset_delay=False,
                   init_hidden=True),
        torch.nn.Linear(H, O),
        snn.Leaky(beta=torch.full((O,), 0.6), threshold=torch.full((O,), 0.5), reset_mechanism="zero",
                  reset_delay=False, init_hidden=True),
    )
    with torch.no_grad():
        seq[0].weight.mul_(3.0)
        seq[2].weight.mul_(3.0)
    return seq


def test_snntorch_rleaky_via_nir_identical_spikes():
    snn = pytest.importorskip("snntorch")
    pytest.importorskip("nirtorch")  # snntorch.export_to_nir needs it
    from snntorch.export_nir import export_to_nir

    torch.manual_seed(0)
    I, H, O, T, B = 3, 8, 4, 25, 6
    seq = _snntorch_net(snn, I, H, O)
    g = export_to_nir(seq, torch.randn(1, I), ignore_dims=[0])
    assert any(isinstance(v, nir.LIF) for v in g.nodes.values())
    net = from_nir(g)
    assert {p.kind for p in net.populations} == {"input", "lif"}
    rec = [s for s in net.synapses if s.source == s.target]
    assert len(rec) == 1 and rec[0].weights.shape == (H, H)  # all_to_all recurrence kept
    x = torch.rand(T, B, I) * 2
    for mod in seq.modules():
        if hasattr(mod, "reset_mem"):
            mod.reset_mem()
    outs, hidden = [], []
    with torch.no_grad():
        for t in range(T):
            outs.append(seq(x[t]).clone())
            hidden.append(seq[1].spk.clone())
    ref, ref_hidden = torch.stack(outs), torch.stack(hidden)
    assert ref_hidden.mean() > 0.1 and ref.mean() > 0.02
    out = net.run(x, backend="fast")
    assert _spikes_equal(out, ref) == 0
    # the hidden RLeaky layer alone, as the graph output
    g2 = export_to_nir(torch.nn.Sequential(seq[0], seq[1]), torch.randn(1, I), ignore_dims=[0])
    out_h = from_nir(g2).run(x, backend="fast")
    assert _spikes_equal(out_h, ref_hidden) == 0


def test_hand_built_nir_graph_with_leak_and_gain():
    """A Norse-style graph (dt=1e-3, r != tau/dt, v_leak != 0): gain and leak fold into weights and bias."""
    dt, H = 1e-3, 4
    rng = np.random.default_rng(0)
    Win, Wrec = rng.normal(size=(H, 2)), rng.normal(size=(H, H)) * 0.5
    tau, r, vl, vth = np.full(H, 5e-3), np.full(H, 2.0), np.full(H, 0.3), np.full(H, 0.5)
    g = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([2])}),
                            "win": nir.Linear(weight=Win), "lif": nir.LIF(tau=tau, r=r, v_leak=vl, v_threshold=vth),
                            "wrec": nir.Linear(weight=Wrec), "output": nir.Output(output_type={"output": np.array([H])})},
                     edges=[("input", "win"), ("win", "lif"), ("lif", "wrec"), ("wrec", "lif"), ("lif", "output")])
    net = from_nir(g, dt=dt)
    x = rng.normal(size=(15, 2, 2)) * 3
    # explicit forward-Euler simulation of the NIR LIF with reset to 0
    v, s, ref = np.zeros((2, H)), np.zeros((2, H)), []
    for t in range(15):
        I_t = x[t] @ Win.T + s @ Wrec.T
        v = v + dt / tau * (vl - v + r * I_t)
        s = (v > vth).astype(float)
        v = np.where(s > 0, 0.0, v)
        ref.append(s)
    out = net.run(x, backend="fast").numpy()
    assert _spikes_equal(out, np.stack(ref)) == 0
    assert np.stack(ref).mean() > 0.05


def test_spikernn_classifier_nir_round_trip():
    from spikernn.models import SpikingSequenceClassifier

    torch.manual_seed(4)
    m = SpikingSequenceClassifier("rnn", 3, 6, 4, readout_decay=0.7, reset="zero", threshold=0.3).eval()
    g = to_nir(m)
    assert isinstance(g.nodes["readout"], nir.LI)
    net = from_nir(g)
    assert net.meta["output"] == "last_step" and net.meta["batch_first"] is True
    x = torch.randn(4, 8, 3) * 2
    lengths = torch.tensor([8, 3, 5, 8])
    with torch.no_grad():
        ref = m(x, lengths)
    assert (net.run(x, backend="fast", lengths=lengths) - ref).abs().max() < 1e-5


def test_snntorch_graph_to_trainable_spikernn_model():
    snn = pytest.importorskip("snntorch")
    pytest.importorskip("nirtorch")
    from snntorch.export_nir import export_to_nir

    torch.manual_seed(5)
    I, H = 3, 8
    seq = _snntorch_net(snn, I, H, 4)
    g = export_to_nir(torch.nn.Sequential(seq[0], seq[1]), torch.randn(1, I), ignore_dims=[0])
    model = from_nir(g, to="spikernn")
    assert type(model).__name__ == "SpikingRNN" and model.neuron_options.reset == "zero"
    x = torch.rand(15, 3, I) * 2
    with torch.no_grad():
        out = model(x)[0]
    assert _spikes_equal(out, from_nir(g).run(x, backend="fast")) == 0
    with pytest.raises(ValueError, match="sizes"):
        from_nir(export_to_nir(seq, torch.randn(1, I), ignore_dims=[0]), to="spikernn")  # 8 then 4 neurons


def test_adlif_exports_only_without_its_adaptation_current():
    """NIR has no neuron with an adaptation current: an adLIF with a or b != 0 is refused; with a = b = 0 it
    is NIR's LIF with r = 1 and comes back as a lif with the same spikes."""
    from spikernn.converters import to_lava

    torch.manual_seed(4)
    m = SpikingRNN(3, 6, neuron="adlif", reset="zero", threshold=0.1).double().eval()
    with pytest.raises(ValueError, match="adaptation current"):
        to_nir(m)
    with torch.no_grad():
        m.a_l0.zero_()
        m.b_l0.zero_()
        m.weight_ih_l0.mul_(4)
    g = to_nir(m)
    assert type(g.nodes["l0"]).__name__ == "LIF" and np.allclose(g.nodes["l0"].r, 1.0)
    back = from_nir(g)
    assert [p.kind for p in back.populations] == ["input", "lif"]
    x = torch.randn(40, 2, 3, dtype=torch.float64) * 2 + 0.5
    with torch.no_grad():
        ref = m(x)[0]
    assert ref.mean() > 0.02 and _spikes_equal(back.run(x, backend="fast"), ref) == 0
    assert _spikes_equal(to_lava(m).run(x, backend="fast"), ref) == 0
