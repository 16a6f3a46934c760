"""train/evaluate on a small synthetic task."""
import torch

import spikernn as snr


def test_train_improves_and_rate_regulariser_lowers_rate():
    torch.set_num_threads(1)
    data = snr.datasets.synthetic(n=96, num_classes=3, features=4, seed=0)
    torch.manual_seed(0)
    m = snr.SpikingSequenceClassifier("gru", 4, 16, 3, readout_decay=0.8, threshold=0.5)
    before = snr.evaluate(m, data)["accuracy"]
    h = snr.train(m, data, epochs=15, batch_size=16, lr=1e-2, progress=False)
    after = snr.evaluate(m, data)
    assert set(h) >= {"loss", "train_accuracy", "firing_rate", "val_accuracy"} and len(h["loss"]) == 15
    assert after["accuracy"] > max(0.8, before) and h["loss"][-1] < h["loss"][0]
    torch.manual_seed(0)
    m2 = snr.SpikingSequenceClassifier("gru", 4, 16, 3, readout_decay=0.8, threshold=0.5)
    h2 = snr.train(m2, data, epochs=15, batch_size=16, lr=1e-2, progress=False, rate_reg=5.0, tbptt=4)
    assert h2["firing_rate"][-1] < h["firing_rate"][-1]


def test_train_devices_callbacks_history_and_time_first_models():
    import json

    from torch import nn

    from spikernn.training import history_record

    class TimeFirst(nn.Module):  # takes (T, B, F): the loop transposes the (B, T, F) batches
        batch_first = False

        def __init__(self):
            super().__init__()
            self.rnn, self.head = nn.GRU(4, 8), nn.Linear(8, 3)

        def forward(self, x, lengths):
            assert x.shape[1] == lengths.shape[0]
            return self.head(self.rnn(x)[0][lengths - 1, torch.arange(x.shape[1])])

    torch.set_num_threads(1)
    data = snr.datasets.synthetic(n=96, num_classes=3, features=4, seed=0)
    torch.manual_seed(0)
    m = TimeFirst()
    seen = []
    h = snr.train(m, (data.x, data.lengths, data.y), epochs=4, batch_size=16, lr=1e-2, device="cpu", progress=False,
                  on_epoch=lambda e, loss, acc: seen.append((e, loss, acc)))
    assert seen == list(zip(range(4), h["loss"], h["train_accuracy"]))
    assert h["epochs"] == 4 and h["world_size"] == 1 and h["samples_per_rank"] == len(data) and h["seconds"] > 0
    assert m.training  # left in the mode it came in
    json.dumps(history_record(h), allow_nan=False)  # dense model: no firing rate, stored as null
    ev = snr.evaluate(m, data, device="cpu")
    assert ev["n"] == len(data) and "firing_rate" not in ev and ev["accuracy"] > 0.8


def test_bad_arguments_are_clear_errors():
    import pytest

    d = snr.datasets.synthetic(16)
    with pytest.raises(ValueError, match="rate_reg"):  # a dense model has no firing rate to regularise
        snr.train(snr.DenseSequenceClassifier("lstm", 4, 8, 3), d, epochs=1, rate_reg=0.1, progress=False)
    m = snr.SpikingSequenceClassifier("lstm", 4, 8, 3)
    with pytest.raises(ValueError, match="scheduler"):
        snr.train(m, d, epochs=1, scheduler="cosin", progress=False)
    with pytest.raises(TypeError, match=r"\(x, lengths, y\)"):
        snr.train(m, d.x, epochs=1, progress=False)
    with pytest.raises(TypeError, match=r"\(x, lengths, y\)"):
        snr.evaluate(m, (d.x, d.y))
    # a list [x, lengths, y] works like the tuple, and a list of (x, lengths, y) samples is a dataset
    assert snr.evaluate(m, [d.x, d.lengths, d.y])["n"] == 16
    assert snr.evaluate(m, [d[i] for i in range(5)])["n"] == 5
