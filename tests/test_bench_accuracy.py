"""The accuracy and forecasting harnesses run end to end on tiny settings, resume, and write their reports."""
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_accuracy  # noqa: E402
import bench_forecasting  # noqa: E402


def test_accuracy_harness_runs_resumes_and_reports(tmp_path, capsys):
    args = ["--data", "synthetic", "--models", "gru,snn_gru", "--recipes", "plain,best", "--seeds", "1",
            "--epochs", "1", "--hidden", "8", "--quiet", "--out", str(tmp_path)]
    assert bench_accuracy.main(args) == 0
    runs = [json.loads(l) for l in (tmp_path / "runs.jsonl").read_text().splitlines()]
    assert {(r["recipe"], r["model"]) for r in runs} == {("plain", "gru"), ("plain", "snn_gru"),
                                                         ("best", "gru"), ("best", "snn_gru")}
    assert all(0 <= r["accuracy"] <= 1 for r in runs)
    assert [r["firing_rate"] is None for r in runs if r["recipe"] == "plain"] == [True, False]
    md = (tmp_path / "accuracy.md").read_text()
    assert "| synthetic | plain |" in md and (tmp_path / "accuracy.png").stat().st_size > 0
    capsys.readouterr()
    assert bench_accuracy.main(args) == 0  # everything recorded: nothing trains again
    assert "[1/4]" not in capsys.readouterr().out
    assert len((tmp_path / "runs.jsonl").read_text().splitlines()) == 4


def test_plain_classifier_means_over_valid_steps_only():
    torch.manual_seed(0)
    m = bench_accuracy.PlainClassifier(torch.nn.GRU, 2, 4, 3)
    x = torch.randn(2, 5, 2)
    L = torch.tensor([5, 3])
    y = m(x, L)
    x2 = x.clone()
    x2[1, 3:] = 100.0  # padding after the end must not matter
    assert torch.allclose(y, m(x2, L), atol=1e-6)


def test_forecasting_harness_runs(tmp_path, monkeypatch):
    monkeypatch.setitem(bench_forecasting.SERIES, "airline",
                        bench_forecasting.SeriesSetting("airline", "airline", (("window", 12),), 1))
    assert bench_forecasting.main(["--series", "airline", "--models", "gru,snn_gru", "--seeds", "1",
                                   "--hidden", "8", "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "forecasting.json").read_text())["summary"]
    assert {(r["recipe"], r["model"]) for r in rows} == {(rc, m) for rc in ("best", "plain", "graded")
                                                         for m in ("gru", "snn_gru")}
    assert all(r["rmse"] > 0 and r["naive_rmse"] > 0 for r in rows)


def test_forecasting_harness_val_split_and_training_overrides(tmp_path, monkeypatch):
    monkeypatch.setitem(bench_forecasting.SERIES, "airline",
                        bench_forecasting.SeriesSetting("airline", "airline", (("window", 12),), 1))
    assert bench_forecasting.main(["--series", "airline", "--models", "gru,snn_gru", "--recipes", "graded",
                                   "--seeds", "1", "--hidden", "8", "--split", "val", "--train", "epochs=2",
                                   "readout_decay=0.5", "--out", str(tmp_path)]) == 0
    runs = [json.loads(l) for l in (tmp_path / "runs_forecasting.jsonl").read_text().splitlines()]
    train, _ = bench_forecasting.snr.datasets.load("airline", window=12)
    val = train.holdout(0.2)[1]
    assert all(r["split"] == "val" and r["train"] == {"epochs": 2, "readout_decay": 0.5} for r in runs)
    assert all(abs(r["naive_rmse"] - val.rmse(val.naive)) < 1e-12 for r in runs)  # scored on the tail
    net = bench_forecasting.build("snn_gru", "graded", bench_forecasting.SERIES["airline"], 1, 8, {},
                                  {"readout_decay": 0.5})
    assert float(net.readout.decay.flatten()[0]) == 0.5


def test_layer_rates_count_valid_steps_per_layer():
    """Per-layer firing rates of a deep spiking net: one value per layer, over valid steps only (what the
    layer's last_activity counts with packed sequences), equal to the spikes of each layer counted by hand."""
    from spikernn.datasets import SequenceData

    torch.manual_seed(0)
    m = bench_accuracy.PlainClassifier(bench_accuracy.SPIKING["snn_gru"], 2, 6, 3, num_layers=2, threshold=0.02)
    x = torch.randn(3, 7, 2) * 3
    L = torch.tensor([7, 4, 2])
    data = SequenceData(x, L, torch.tensor([0, 1, 2]), 3)
    rates = bench_accuracy.layer_rates(m, data)
    assert len(rates) == 2 and bench_accuracy.layer_rates(
        bench_accuracy.PlainClassifier(torch.nn.GRU, 2, 6, 3), data) is None
    with torch.no_grad():
        layer2 = sum(float(m.rnn(x[b:b + 1, :int(L[b])])[0].sum()) for b in range(3)) / (6 * int(L.sum()))
    assert abs(rates[1] - layer2) < 1e-9 and 0 < layer2 < 1
    assert 0 <= rates[0] <= 1 and m.training  # the model's mode is restored


def test_tuned_adlif_recipe_uses_the_adlif_soma_and_its_epochs(tmp_path):
    net = bench_accuracy.build("snn_gru", "tuned_adlif", bench_accuracy.snr.datasets.load("synthetic")[0], 8, {})
    opts = net.rnn.neuron_options
    assert (opts.neuron, opts.threshold, opts.adapt_gain, opts.learn_threshold) == ("adlif", 0.3, 60.0, True)
    ranges = bench_accuracy.snr.neurons.ADLIF_RANGES  # round 4's, not the GRU's round-7 defaults
    assert (opts.alpha_range, opts.b_range) == (ranges["alpha"], ranges["b"])
    args = ["--data", "synthetic", "--models", "snn_gru", "--recipes", "tuned_adlif", "--seeds", "1",
            "--hidden", "8", "--quiet", "--out", str(tmp_path)]
    saved = bench_accuracy.RECIPE_EPOCHS["tuned_adlif"]
    try:
        bench_accuracy.RECIPE_EPOCHS["tuned_adlif"] = 2  # short run; the epochs are taken from the recipe
        assert bench_accuracy.main(args) == 0
    finally:
        bench_accuracy.RECIPE_EPOCHS["tuned_adlif"] = saved
    (run,) = [json.loads(l) for l in (tmp_path / "runs.jsonl").read_text().splitlines()]
    assert (run["recipe"], run["epochs"]) == ("tuned_adlif", 2) and 0 <= run["accuracy"] <= 1


def test_tuned_adlif_lstm_recipe_changes_only_its_own_settings(tmp_path):
    data = bench_accuracy.snr.datasets.load("synthetic")[0]
    lstm, gru = (bench_accuracy.build(m, rc, data, 8, {}) for m, rc in
                 (("snn_lstm", "tuned_adlif_lstm"), ("snn_gru", "tuned_adlif")))
    rl, rg = bench_accuracy.TUNED_ADLIF_LSTM, bench_accuracy.TUNED_ADLIF
    assert lstm.config["args"]["readout_decay"] == gru.config["args"]["readout_decay"] == 0.97
    assert (rl["batch"], rg["batch"], rg["lr"]) == (16, 32, 1e-2)  # the GRU's measured recipe as before
    assert {k: v for k, v in rl.items() if k != "batch"} == {k: v for k, v in rg.items() if k != "batch"}
    assert (lstm.rnn.neuron_options.neuron, lstm.rnn.neuron_options.threshold) == ("adlif", 0.3)
    args = ["--data", "synthetic", "--models", "snn_lstm", "--recipes", "tuned_adlif_lstm", "--seeds", "1",
            "--hidden", "8", "--quiet", "--out", str(tmp_path)]
    saved = bench_accuracy.RECIPE_EPOCHS["tuned_adlif_lstm"]
    try:
        bench_accuracy.RECIPE_EPOCHS["tuned_adlif_lstm"] = 2
        assert bench_accuracy.main(args) == 0
    finally:
        bench_accuracy.RECIPE_EPOCHS["tuned_adlif_lstm"] = saved
    (run,) = [json.loads(l) for l in (tmp_path / "runs.jsonl").read_text().splitlines()]
    assert (run["recipe"], run["epochs"]) == ("tuned_adlif_lstm", 2) and 0 <= run["accuracy"] <= 1
    assert "| synthetic | tuned_adlif_lstm |" in (tmp_path / "accuracy.md").read_text()


def test_report_never_overwrites_a_hand_written_write_up(tmp_path):
    (tmp_path / "accuracy_r9.md").write_text("# Round 9 write-up, by hand\n")
    assert bench_accuracy.report_stem(tmp_path, "accuracy_r9") == "accuracy_r9_harness"
    assert (tmp_path / "accuracy_r9.md").read_text() == "# Round 9 write-up, by hand\n"
    (tmp_path / "accuracy_r8.md").write_text(bench_accuracy.HARNESS_TITLE + "accuracy_r8)\n")
    assert bench_accuracy.report_stem(tmp_path, "accuracy_r8") == "accuracy_r8"  # its own table: rewritten
    assert bench_accuracy.report_stem(tmp_path, "accuracy_new") == "accuracy_new"


def test_train_plain_swa_replaces_the_parameters_by_their_average_over_the_last_epochs():
    data = bench_accuracy.snr.datasets.load("synthetic")[0].subset(16)
    torch.manual_seed(0)
    net = bench_accuracy.build("snn_lstm", "best", data, 4, {})
    snaps = []
    bench_accuracy.train_plain(net, data, 4, 0, lr=1e-2, batch_size=8, onecycle=0.3, swa=0.5, swa_lr=1e-3,
                               progress=lambda e, loss: snaps.append([p.detach().clone() for p in net.parameters()]))
    assert len(snaps) == 4  # progress runs after each epoch, before the average replaces the parameters
    for p, a, b in zip(net.parameters(), snaps[2], snaps[3]):
        torch.testing.assert_close(p.detach(), (a + b) / 2)


def test_tuned_adlif_th02_recipe_pins_every_neuron_option_and_changes_only_the_threshold():
    data = bench_accuracy.snr.datasets.load("synthetic")[0]
    r7, r4 = bench_accuracy.TUNED_ADLIF_TH02, bench_accuracy.TUNED_ADLIF
    assert {k: v for k, v in r7.items() if k != "neuron"} == {k: v for k, v in r4.items() if k != "neuron"}
    net = bench_accuracy.build("snn_lstm", "tuned_adlif_th02", data, 8, {})
    torch.manual_seed(0)
    ref = bench_accuracy.snr.SpikingSequenceClassifier("lstm", data.num_features, 8, data.num_classes,
                                                       readout_decay=0.97, neuron="adlif", threshold=0.2,
                                                       learn_threshold=True, adapt_gain=60.0)
    cfg = net.rnn.neuron_options.to_config()
    assert (cfg["neuron"], cfg["threshold"], cfg["learn_threshold"], cfg["adapt_gain"]) == ("adlif", 0.2, True, 60.0)
    # the recipe names every option, so the layers' defaults cannot change it (today they give the same model)
    assert set(r7["neuron"]) == set(cfg)
    assert cfg == ref.rnn.neuron_options.to_config()
    assert bench_accuracy.RECIPE_EPOCHS["tuned_adlif_th02"] == 60


def test_tuned_adlif_th02_d2_fs_recipe_changes_only_the_surrogate_of_the_delta_recipe(tmp_path):
    data = bench_accuracy.snr.datasets.load("synthetic")[0]
    fs, d2 = bench_accuracy.TUNED_ADLIF_TH02_D2_FS, bench_accuracy.TUNED_ADLIF_TH02_D2
    assert {k: v for k, v in fs.items() if k != "neuron"} == {k: v for k, v in d2.items() if k != "neuron"}
    assert fs["delta"] == 2 and set(fs["neuron"]) == set(d2["neuron"])
    changed = {k for k in fs["neuron"] if fs["neuron"][k] != d2["neuron"][k]}
    assert changed == {"surrogate", "surrogate_options"}
    net = bench_accuracy.build("snn_lstm", "tuned_adlif_th02_d2_fs", data, 8, {})
    cfg = net.rnn.neuron_options.to_config()
    assert (cfg["surrogate"], cfg["surrogate_options"]) == ("fast_sigmoid", {"slope": 10.0})
    assert (cfg["neuron"], cfg["threshold"], cfg["learn_threshold"], cfg["adapt_gain"]) == ("adlif", 0.2, True, 60.0)
    # the same spikes as the atan recipe (the surrogate shapes only the gradient), a different gradient
    ref = bench_accuracy.build("snn_lstm", "tuned_adlif_th02_d2", data, 8, {})
    ref.load_state_dict(net.state_dict())
    x = torch.randn(3, 6, data.num_features)
    outs, grads = [], []
    for m in (net, ref):
        xi = x.clone().requires_grad_(True)
        out = m.forward_steps(xi)
        out.sum().backward()
        outs.append(out.detach())
        grads.append(xi.grad)
    torch.testing.assert_close(outs[0], outs[1])
    assert not torch.allclose(grads[0], grads[1])
    tr, te = data.subset(16), data.subset(8)
    assert bench_accuracy.recipe_data("tuned_adlif_th02_d2_fs", tr, te)[0].num_features == 2 * data.num_features
    args = ["--data", "synthetic", "--models", "snn_lstm", "--recipes", "tuned_adlif_th02_d2_fs", "--seeds", "1",
            "--hidden", "8", "--subset", "32", "--quiet", "--out", str(tmp_path)]
    saved = bench_accuracy.RECIPE_EPOCHS["tuned_adlif_th02_d2_fs"]
    try:
        bench_accuracy.RECIPE_EPOCHS["tuned_adlif_th02_d2_fs"] = 1  # one epoch: the path, not the figure
        assert bench_accuracy.main(args) == 0
    finally:
        bench_accuracy.RECIPE_EPOCHS["tuned_adlif_th02_d2_fs"] = saved
    (run,) = [json.loads(l) for l in (tmp_path / "runs.jsonl").read_text().splitlines()]
    assert (run["recipe"], run["epochs"]) == ("tuned_adlif_th02_d2_fs", 1) and 0 <= run["accuracy"] <= 1


def test_conversion_benchmark_trains_a_harness_recipe_and_rejects_an_unknown_one(tmp_path, monkeypatch):
    import pytest

    import bench_conversion_japanese_vowels as conv

    with pytest.raises(SystemExit):
        conv.main(["--recipe", "no_such_recipe", "--out", str(tmp_path / "x.json")])
    monkeypatch.setitem(bench_accuracy.RECIPE_EPOCHS, "tuned_adlif_th02", 1)  # one epoch: the path, not the figure
    out = tmp_path / "conv.json"
    payload = conv.main(["--recipe", "tuned_adlif_th02", "--spiking-kinds", "lstm", "--hidden", "8", "--lava", "0",
                         "--out", str(out)])
    assert payload["recipe"] == "tuned_adlif_th02" and payload["hidden_size"] == 8
    (r,) = payload["results"]  # the recipe's spiking model only, no dense LSTM
    assert r["model"] == "SpikingLSTM" and r["recipe"] == "tuned_adlif_th02"
    assert 0.0 <= r["class_agreement"] <= 1.0 and json.loads(out.read_text())["recipe"] == "tuned_adlif_th02"


def test_add_deltas_is_causal_scaled_on_train_and_zero_on_padding():
    import pytest

    SD = bench_accuracy.snr.datasets.SequenceData
    x = torch.zeros(2, 5, 1)
    x[0, :5, 0] = torch.tensor([1.0, 2.0, 4.0, 7.0, 11.0])
    x[1, :3, 0] = torch.tensor([0.0, 3.0, 6.0])
    tr = SD(x, torch.tensor([5, 3]), torch.tensor([0, 1]), 2)
    te = SD(x[:1, :3].clone(), torch.tensor([3]), torch.tensor([0]), 2)
    a, b = bench_accuracy.add_deltas(tr, te, 2)
    raw = torch.tensor([0.0, 1.0, 3.0, 5.0, 7.0, 0.0, 3.0, 6.0])  # x_t - x_{t-2}, x_0 before the start
    sd = raw.std()
    assert torch.allclose(a.x[..., 0], x[..., 0]) and a.num_features == 2
    assert torch.allclose(a.x[0, :, 1], raw[:5] / sd, atol=1e-6)
    assert torch.allclose(a.x[1, :3, 1], raw[5:] / sd, atol=1e-6) and float(a.x[1, 3:].abs().sum()) == 0.0
    assert torch.allclose(b.x[0, :, 1], raw[:3] / sd, atol=1e-6)  # the test split takes the training scale
    # causal: a change at step 2 of a test sequence leaves its earlier steps' features (both channels) unchanged
    x2 = te.x.clone()
    x2[0, 2, 0] = 100.0
    _, b2 = bench_accuracy.add_deltas(tr, SD(x2, te.lengths, te.y, 2), 2)
    assert torch.equal(b2.x[0, :2], b.x[0, :2]) and not torch.equal(b2.x[0, 2], b.x[0, 2])
    with pytest.raises(ValueError, match="positive int"):
        bench_accuracy.add_deltas(tr, te, 0)
    assert bench_accuracy.recipe_data("tuned_adlif_th02", tr, te) == (tr, te)
    assert bench_accuracy.recipe_data("tuned_adlif_th02_d2", tr, te)[0].num_features == 2


def test_conversion_benchmark_feeds_a_delta_recipe_its_delta_features(tmp_path, monkeypatch):
    import bench_conversion_japanese_vowels as conv

    monkeypatch.setitem(bench_accuracy.RECIPE_EPOCHS, "tuned_adlif_th02_d2", 1)  # the path, not the figure
    seen = []
    real = bench_accuracy.build
    monkeypatch.setattr(bench_accuracy, "build", lambda *a, **k: seen.append(a[2].num_features) or real(*a, **k))
    payload = conv.main(["--recipe", "tuned_adlif_th02_d2", "--spiking-kinds", "lstm", "--hidden", "8", "--lava", "0",
                         "--out", str(tmp_path / "conv.json")])
    (r,) = payload["results"]
    assert seen == [24] and r["recipe"] == "tuned_adlif_th02_d2"  # 12 features + their 12 deltas
    assert 0.0 <= r["class_agreement"] <= 1.0


def test_the_spoken_word_dev_split_uses_voices_of_neither_split_and_is_left_out_of_the_default_run():
    import tts_words

    dev, train, test = set(tts_words.DEV_VARIANTS), set(tts_words.TRAIN_VARIANTS), set(tts_words.TEST_VARIANTS)
    assert len(dev) == 4 and not dev & train and not dev & test
    assert bench_accuracy.SCREENING_ONLY == ("tts_words_dev",) and "tts_words_dev" in bench_accuracy.DATASETS
    assert "tts_words_dev" not in bench_accuracy.default_data()
    assert "japanese_vowels" in bench_accuracy.default_data()


def test_val_seed_picks_another_hold_out_and_is_recorded(tmp_path):
    base = ["--data", "synthetic", "--models", "gru", "--recipes", "plain", "--seeds", "1", "--epochs", "1",
            "--hidden", "8", "--quiet", "--split", "val", "--out", str(tmp_path)]
    assert bench_accuracy.main(base) == 0
    assert bench_accuracy.main(base + ["--val-seed", "3"]) == 0  # not taken for the seed-0 run already recorded
    runs = [json.loads(l) for l in (tmp_path / "runs.jsonl").read_text().splitlines()]
    assert len(runs) == 2 and [r.get("val_seed") for r in runs] == [None, 3]
    train = bench_accuracy.snr.datasets.load("synthetic")[0]
    a, b = train.holdout(0.2, seed=0)[1], train.holdout(0.2, seed=3)[1]
    assert a.x.shape == b.x.shape and not torch.equal(a.x, b.x)
