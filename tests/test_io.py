"""save/load: one safetensors file with JSON config; identical outputs after a round trip."""
import pytest
import torch

import spikernn as snr


@pytest.mark.parametrize("make", [
    lambda: snr.SpikingSequenceClassifier("lstm", 3, 5, 4, num_layers=2, bidirectional=True, readout_decay=0.7,
                                          neuron="lif", threshold=0.3, reset="zero", adapt_scale=0.1,
                                          adapt_decay=0.9),
    lambda: snr.SpikingSequenceClassifier("rnn", 3, 5, 4, encoder="delta"),
    lambda: snr.DenseSequenceClassifier("gru", 3, 5, 4),
])
def test_round_trip_classifiers(tmp_path, make):
    torch.manual_seed(0)
    m = make()
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.01 * torch.randn_like(p))
    x, lengths = torch.randn(3, 6, 3), torch.tensor([6, 2, 4])
    path = snr.save(m, tmp_path / "m.safetensors", extra={"note": "hi"})
    m2 = snr.load(path)
    assert type(m2) is type(m)
    torch.testing.assert_close(m2(x, lengths), m(x, lengths), rtol=0, atol=0)
    assert snr.io.read_metadata(path)["extra"] == {"note": "hi"}


def test_round_trip_layer(tmp_path):
    m = snr.SpikingGRU(3, 4, batch_first=True, threshold=0.2)
    x = torch.randn(2, 5, 3)
    m2 = snr.load(snr.save(m, tmp_path / "g.safetensors"))
    assert m2.batch_first and torch.equal(m2(x)[0], m(x)[0])


def test_unknown_class_and_custom_surrogate(tmp_path):
    import json

    from safetensors.torch import save_file

    p = tmp_path / "bad.safetensors"
    save_file({"w": torch.zeros(1)}, str(p), metadata={"format": "spikernn/1", "config": json.dumps({"class": "Nope", "args": {}})})
    with pytest.raises(ValueError, match="unknown model class 'Nope'"):
        snr.load(p)
    with pytest.raises(TypeError, match="no config"):
        snr.save(torch.nn.Linear(2, 2), tmp_path / "lin.safetensors")
    from snntorch import surrogate

    fn = surrogate.fast_sigmoid()
    m = snr.SpikingRNN(2, 3, surrogate=fn)
    path = snr.save(m, tmp_path / "c.safetensors")
    with pytest.raises(ValueError, match="custom surrogate"):
        snr.load(path)
    assert snr.load(path, surrogate=fn).neuron_options.surrogate is fn


def test_register_keeps_builtin_classes(tmp_path, monkeypatch):
    # registering a user class before any save/load must not hide spikernn's own classes
    from torch import nn

    monkeypatch.setattr(snr.io, "_REGISTRY", {})
    monkeypatch.setattr(snr.io, "_BUILTINS_REGISTERED", False)

    class Tiny(nn.Module):
        def __init__(self, n: int = 2) -> None:
            super().__init__()
            self.n, self.lin = n, nn.Linear(n, n)

        @property
        def config(self):
            return {"class": "Tiny", "args": {"n": self.n}}

    snr.register(Tiny)
    m = snr.SpikingLSTM(3, 4)
    m2 = snr.load(snr.save(m, tmp_path / "l.safetensors"))
    assert type(m2) is snr.SpikingLSTM
    t2 = snr.load(snr.save(Tiny(3), tmp_path / "t.safetensors"))
    assert isinstance(t2, Tiny) and t2.n == 3


def test_load_non_safetensors_and_missing_config_raise_value_error(tmp_path):
    from safetensors.torch import save_file

    pickled = tmp_path / "pickled.safetensors"
    torch.save({"a": torch.ones(2)}, pickled)  # a pickle under a safetensors name: never unpickled
    with pytest.raises(ValueError, match="not a safetensors file"):
        snr.load(pickled)
    no_cfg = tmp_path / "nocfg.safetensors"
    save_file({"a": torch.ones(2)}, str(no_cfg), metadata={"format": "spikernn/1"})
    with pytest.raises(ValueError, match="not a spikernn model file"):
        snr.load(no_cfg)
    from spikernn.converters import load_model

    with pytest.raises(ValueError, match="not a safetensors file"):
        load_model(pickled)


def test_round_trip_adlif(tmp_path):
    torch.manual_seed(0)
    m = snr.SpikingSequenceClassifier("lstm", 3, 5, 4, neuron="adlif", discretisation="se", threshold=0.3)
    x, lengths = torch.randn(3, 6, 3), torch.tensor([6, 2, 4])
    m2 = snr.load(snr.save(m, tmp_path / "a.safetensors"))
    assert m2.rnn.neuron_options.neuron == "adlif" and m2.rnn.neuron_options.discretisation == "se"
    torch.testing.assert_close(m2.rnn.alpha_l0, m.rnn.alpha_l0, rtol=0, atol=0)
    torch.testing.assert_close(m2(x, lengths), m(x, lengths), rtol=0, atol=0)
    import json

    cfg = json.loads(json.dumps(m.config))["args"]
    assert "decay" not in cfg and cfg["alpha_range"] == list(m.rnn.neuron_options.alpha_range)
