"""spikernn models inside NeuroBench 2.3.0's own Benchmark (through spikernn.neurobench.wrap): NeuroBench's
metrics equal spikernn's counts, on a model NeuroBench handles by itself (snntorch Leaky + Linear) and on
spikernn's spiking and dense classifiers; the core imports without NeuroBench."""
import copy
import subprocess
import sys
import warnings

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import spikernn as snr
from spikernn import neurobench as snb
from spikernn.energy.neurobench_metrics import neurobench_metrics

nb = pytest.importorskip("neurobench", reason="neurobench==2.3.0 is installed by `make install` (the dev extra)")
from neurobench.benchmarks import Benchmark  # noqa: E402
from neurobench.metrics.static import ConnectionSparsity, Footprint  # noqa: E402
from neurobench.metrics.workload import (ActivationSparsity, ClassificationAccuracy,  # noqa: E402
                                         SynapticOperations)

METRICS = [[Footprint, ConnectionSparsity], [ActivationSparsity, SynapticOperations, ClassificationAccuracy]]


def run(model, x, y, batch_size):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Benchmark(model, DataLoader(TensorDataset(x, y), batch_size=batch_size), [],
                         [lambda out: out.argmax(-1)], METRICS).run(quiet=True)


def assert_same(res, mine):
    ours = mine.as_neurobench()
    assert res["Footprint"] == ours["footprint"]
    assert res["ConnectionSparsity"] == ours["connection_sparsity"]
    assert res["ActivationSparsity"] == pytest.approx(ours["activation_sparsity"] or 0.0, abs=1e-12)
    assert res["SynapticOperations"] == pytest.approx(ours["synaptic_operations"])


def test_snntorch_leaky_linear_equals_neurobench():
    import snntorch as snn
    from neurobench.models import SNNTorchModel
    from snntorch import utils

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.lif1 = torch.nn.Linear(6, 10), snn.Leaky(beta=0.9, init_hidden=True)
            self.fc2, self.lif2 = torch.nn.Linear(10, 3), snn.Leaky(beta=0.9, init_hidden=True, output=True)

        def forward(self, x):
            return self.lif2(self.fc2(self.lif1(self.fc1(x))))

    torch.manual_seed(0)
    net = Net()
    with torch.no_grad():
        net.fc1.weight[:, 0] = 0  # some connection sparsity
    x, y = 2 * torch.rand(4, 8, 6), torch.zeros(4, 8, dtype=torch.long)

    def loop(model, xx, lengths=None):
        utils.reset(model)
        return torch.stack([model(xx[:, t])[0] for t in range(xx.shape[1])], 1)

    twin = copy.deepcopy(net)  # each side gets a model that never ran: snntorch's state buffers grow in a run
    mine = neurobench_metrics(net, x, forward=loop)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = Benchmark(SNNTorchModel(twin), DataLoader(TensorDataset(x, y), batch_size=4), [], [],
                        [METRICS[0], METRICS[1][:2]]).run(quiet=True)
    assert_same(res, mine)
    assert res["SynapticOperations"]["Effective_ACs"] > 0 and res["ConnectionSparsity"] > 0


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
def test_spiking_classifier_in_benchmark_equals_spikernn(kind):
    """NeuroBench alone sees no spiking activity in spikernn layers; wrapped, its numbers equal spikernn's."""
    torch.manual_seed(3)
    m = snr.SpikingSequenceClassifier(kind, 12, 16, 5, num_layers=2, bidirectional=(kind == "gru"),
                                      neuron="lif", decay=0.9, threshold=1.0).eval()  # untrained: both layers must fire
    x, y = torch.randn(6, 9, 12), torch.randint(0, 5, (6,))
    res = run(snb.wrap(m), x, y, batch_size=3)  # two batches: NeuroBench accumulates per sample
    assert_same(res, neurobench_metrics(m, x))
    with torch.no_grad():
        assert res["ClassificationAccuracy"] == pytest.approx((m(x).argmax(-1) == y).float().mean().item())
    assert 0.5 < res["ActivationSparsity"] < 1.0 and res["SynapticOperations"]["Effective_ACs"] > 0


def test_padded_batch_and_dense_lstm_through_cells():
    torch.manual_seed(4)
    lengths = torch.tensor([9, 5, 7, 9, 3, 8])
    x, y = torch.randn(6, 9, 12), torch.zeros(6, dtype=torch.long)
    for m in (snr.SpikingSequenceClassifier("lstm", 12, 8, 5).eval(), snr.DenseSequenceClassifier("lstm", 12, 8, 5).eval()):
        res = run(snb.wrap(m, lengths_of=lambda xx: lengths[: xx.shape[0]]), x, y, batch_size=6)
        assert_same(res, neurobench_metrics(m, x, lengths=lengths))


def test_neurobench_alone_is_silently_wrong_on_these_models():
    """Why the view exists: NeuroBench 2.3.0 on its own fails inside its synaptic-operations metric for a whole
    nn.LSTM (its recurrent_layer_macs raises), catches that and reports 0.0; for a spikernn layer it finds no
    connection or activation layer at all. spikernn's counts for the same models are not zero."""
    from neurobench.models import TorchModel

    torch.manual_seed(0)
    x, y = torch.randn(2, 5, 3), torch.zeros(2, dtype=torch.long)
    dense = snr.DenseSequenceClassifier("lstm", 3, 4, 2).eval()
    assert run(TorchModel(dense), x, y, 2)["SynapticOperations"] == 0.0
    assert neurobench_metrics(dense, x).effective_macs > 0
    # θ0 0.02: the default adLIF soma is silent at 0.1 on these 5 steps (nothing to count)
    spiking = snr.SpikingSequenceClassifier("lstm", 3, 4, 2, threshold=0.02).eval()
    res = run(TorchModel(spiking), x, y, 2)
    mine = neurobench_metrics(spiking, x)
    assert res["ActivationSparsity"] == 0.0 and mine.activation_sparsity < 1.0
    assert res["SynapticOperations"]["Effective_ACs"] == 0 and mine.effective_acs > 0


def test_core_imports_without_neurobench():
    code = ("import sys; sys.modules['neurobench'] = None\n"
            "import spikernn, spikernn.neurobench as n\n"
            "try:\n    n.wrap(spikernn.SpikingLSTM(2, 3))\nexcept ImportError as e:\n    print('IMPORTERROR', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "IMPORTERROR" in out.stdout and "spikernn[neurobench]" in out.stdout, out.stderr
