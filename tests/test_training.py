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
    assert m2.rnn.tbptt is None  # restored after training
