"""Data sets: JapaneseVowels from sktime (packaged) and the synthetic helper."""
import pytest
import torch

import spikernn as snr


def test_japanese_vowels():
    tr, te = snr.datasets.japanese_vowels()
    assert tr.x.shape[0] == 270 and te.x.shape[0] == 370 and tr.x.shape[2] == 12
    assert tr.x.dtype == torch.float32 and tr.lengths.dtype == torch.int64
    assert int(torch.cat([tr.lengths, te.lengths]).min()) == 7 and int(torch.cat([tr.lengths, te.lengths]).max()) == 29
    assert tr.x.shape[1] == int(tr.lengths.max()) and te.x.shape[1] == int(te.lengths.max())
    assert sorted(tr.y.unique().tolist()) == list(range(9)) and tr.num_classes == 9
    valid = torch.arange(tr.x.shape[1]).unsqueeze(0) < tr.lengths.unsqueeze(1)
    frames = tr.x[valid]
    assert frames.mean(0).abs().max() < 1e-4 and (frames.std(0) - 1).abs().max() < 1e-2
    assert tr.x[~valid].abs().sum() == 0
    assert torch.isfinite(te.x).all()


def test_synthetic():
    d = snr.datasets.synthetic(n=20, num_classes=3, features=4, min_len=3, max_len=6)
    assert d.x.shape == (20, 6, 4) and d.lengths.min() >= 3 and d.y.max() < 3
    x, L, y = d[0]
    assert x.shape == (6, 4) and x[int(L):].abs().sum() == 0


def test_subset_spreads_over_the_split_and_keeps_num_classes():
    from spikernn import demo

    d = snr.datasets.synthetic(n=20, num_classes=3, min_len=2, max_len=9)
    sub = d.subset(5)
    assert isinstance(sub, snr.datasets.SequenceData) and len(sub) == 5 and sub.num_classes == 3
    idx = torch.linspace(0, 19, 5).round().long()
    assert torch.equal(sub.y, d.y[idx]) and sub.x.shape[1] == int(d.lengths[idx].max())
    assert d.subset(None) is d and d.subset(50) is d
    assert demo.SequenceData is snr.datasets.SequenceData  # one class, not two copies
    assert demo.load_dataset("synthetic").test.subset(4).num_classes == 3


def test_rows_trims_to_the_longest_selected_sequence():
    d = snr.datasets.synthetic(n=10, min_len=2, max_len=9, seed=1)
    part = d.rows(slice(0, 4))
    assert len(part) == 4 and part.x.shape[1] == int(d.lengths[:4].max())
    assert torch.equal(part.x, d.x[:4, : part.x.shape[1]])
    assert torch.equal(part.y, d.y[:4])


def test_holdout_is_stratified_disjoint_and_seeded():
    import pytest

    d = snr.datasets.synthetic(n=40, num_classes=4, min_len=2, max_len=9, seed=3)
    rest, val = d.holdout(0.25, seed=0)
    assert len(rest) + len(val) == len(d) and rest.num_classes == val.num_classes == 4
    for c in range(4):  # each class split 1 : 3 (rounded), none lost
        n = int((d.y == c).sum())
        assert int((val.y == c).sum()) == round(0.25 * n) and int((rest.y == c).sum()) == n - round(0.25 * n)
    rows = {tuple(x.flatten().tolist()) for x in torch.cat([rest.x.flatten(1)[:, :8], val.x.flatten(1)[:, :8]])}
    assert len(rows) == len(d)  # disjoint: every item once
    again, val2 = d.holdout(0.25, seed=0)
    other = d.holdout(0.25, seed=1)[1]
    assert torch.equal(val.y, val2.y) and torch.equal(val.x, val2.x) and not torch.equal(val.x, other.x)
    with pytest.raises(ValueError, match="fraction"):
        d.holdout(1.0)
    fixed = d.holdout(seed=0, per_class=2)[1]  # a count per class instead of a fraction
    assert [int((fixed.y == c).sum()) for c in range(4)] == [2, 2, 2, 2]
    with pytest.raises(ValueError, match="per_class"):
        d.holdout(per_class=0)


@pytest.mark.parametrize("horizon", [1, 3])
def test_forecast_holdout_is_a_tail_whose_targets_follow_the_heads(horizon):
    import numpy as np

    tr, _ = snr.datasets.windows(np.arange(100.0), window=5, horizon=horizon)
    head, tail = tr.holdout(0.2)
    assert len(tail) == round(0.2 * len(tr)) and len(head) == len(tr) - len(tail) - (horizon - 1)
    assert torch.equal(tail.x, tr.x[-len(tail):]) and torch.equal(head.y, tr.y[:len(head)])
    assert float(head.y.max()) < float(tail.y.min())  # no target of the head is a target of the tail
    assert (head.mean, head.std) == (tail.mean, tail.std) == (tr.mean, tr.std)
    with pytest.raises(ValueError, match="fraction"):
        tr.holdout(0.0)


def test_demo_synthetic_splits_share_class_prototypes():
    from spikernn.demo import load_dataset

    ds = load_dataset("synthetic", seed=2)
    assert (len(ds.train), len(ds.test)) == (96, 48)
    # same generator call: the class means of the two splits point the same way
    for c in range(ds.num_classes):
        a = ds.train.x[ds.train.y == c].sum((0, 1))
        b = ds.test.x[ds.test.y == c].sum((0, 1))
        assert torch.nn.functional.cosine_similarity(a, b, dim=0) > 0.9


# ---------------------------------------------------------------------------------------------- the registry
import math

import numpy as np
import pytest

from spikernn import datasets as D


def test_registry_lists_every_packaged_set_by_task():
    cls, fc = D.available("classification"), D.available("forecasting")
    assert cls[:2] == ["synthetic", "japanese_vowels"]
    assert {"basic_motions", "plaid", "arrow_head", "gun_point", "italy_power_demand", "osu_leaf", "acsf1"} <= set(cls)
    assert set(fc) == {"airline", "lynx", "shampoo_sales", "mackey_glass"}
    assert sorted(D.available()) == sorted(cls + fc)  # (other code may register sets of its own)
    assert D.info("Japanese-Vowels").task == "classification" and D.info("airline").source
    with pytest.raises(ValueError, match="unknown data set 'nope'.*japanese_vowels"):
        D.load("nope")
    with pytest.raises(ValueError, match="task must be"):
        D.available("regression")
    with pytest.raises(TypeError, match="options are"):
        D.load("japanese_vowels", windw=3)


def test_registry_japanese_vowels_is_the_function_and_the_old_loader():
    a, b = D.load("japanese_vowels")
    c, d = D.japanese_vowels()
    assert torch.equal(a.x, c.x) and torch.equal(b.lengths, d.lengths) and torch.equal(b.y, d.y)
    from sktime.datasets import load_japanese_vowels  # the loader the project used before the registry

    X, y = load_japanese_vowels(split="test", return_X_y=True)
    first = np.stack([np.asarray(X.iloc[0].iloc[j]) for j in range(12)], 1)
    assert b.lengths[0] == len(first) and b.class_names[int(b.y[0])] == str(y[0])


def test_registry_uea_sets_are_padded_and_standardised():
    tr, te = D.load("basic_motions")
    assert tr.x.shape == (40, 100, 6) and te.x.shape == (40, 100, 6) and tr.num_classes == 4
    assert tr.class_names == ["badminton", "running", "standing", "walking"]
    assert sorted(te.y.unique().tolist()) == [0, 1, 2, 3]
    f = tr.x.reshape(-1, 6)
    assert f.mean(0).abs().max() < 1e-4 and (f.std(0) - 1).abs().max() < 1e-2
    tr, te = D.load("plaid", pool=4)  # variable length: padding is zero after each end
    assert int(tr.lengths.max()) == math.ceil(1344 / 4) and len(tr) == 537 and len(te) == 537
    valid = torch.arange(tr.x.shape[1]).unsqueeze(0) < tr.lengths.unsqueeze(1)
    assert tr.x[~valid].abs().sum() == 0 and tr.x[valid].abs().sum() > 0
    raw, _ = D.load("plaid", standardize=False)
    L = int(raw.lengths[0])
    pooled, _ = D.load("plaid", standardize=False, pool=4)
    assert torch.allclose(pooled.x[0, 0, 0], raw.x[0, :4, 0].mean())
    assert pooled.lengths[0] == math.ceil(L / 4)
    crop, _ = D.load("plaid", max_len=50)
    assert int(crop.lengths.max()) == 50
    with pytest.raises(ValueError, match="pool"):
        D.load("plaid", pool=0)


def test_registry_synthetic_split_shares_prototypes_and_seed():
    tr, te = D.load("synthetic", seed=2)
    both = D.synthetic(144, seed=2, min_len=6, max_len=12)
    assert torch.equal(tr.y, both.y[:96]) and torch.equal(te.y, both.y[96:])
    tr2, _ = D.load("synthetic", seed=3)
    assert not torch.equal(tr.x, tr2.x)


def test_forecast_windows_targets_and_naive():
    s = np.arange(40, dtype=float)
    tr, te = D.windows(s, window=5, horizon=3, test_fraction=0.25, season=2)
    unz = lambda t: t * tr.std + tr.mean  # noqa: E731
    assert tr.x.shape == (tr.y.shape[0], 5, 1) and te.y.shape[1] == 3
    # every training target lies before the test part; test targets cover the last 10 points
    assert float(unz(tr.y).max()) < 30 - 1e-6 + 1e-3 and torch.allclose(unz(te.y[0]), torch.tensor([30., 31., 32.]))
    assert torch.allclose(unz(te.x[0, :, 0]), torch.tensor([25., 26., 27., 28., 29.]))
    # seasonal naive: target k is replaced by the value season*ceil(k/season) steps earlier
    assert torch.allclose(unz(te.naive[0]), torch.tensor([28., 29., 30.]) - torch.tensor([0., 0., 2.]))
    assert abs(te.rmse(te.y)) < 1e-9 and te.rmse(te.naive) > 0
    with pytest.raises(ValueError, match="too short"):
        D.windows(np.arange(6.0), window=5)
    with pytest.raises(ValueError, match="NaN"):
        D.windows(np.array([1.0, np.nan] * 20), window=3)


def test_forecast_series_load():
    tr, te = D.load("airline", window=12)
    assert tr.x.shape[1:] == (12, 1) and len(te) == round(0.2 * 144) and te.season == 12
    # test targets are the last points of the series, in order
    from sktime.datasets import load_airline

    last = np.log(load_airline().values[-1])
    assert abs(float(te.y[-1, 0]) * te.std + te.mean - last) < 1e-5
    for name in ("lynx", "shampoo_sales"):
        tr, te = D.load(name)
        assert len(tr) > 10 and len(te) > 5 and torch.isfinite(tr.x).all()


def test_mackey_glass_series_is_the_delay_equation():
    s = D.mackey_glass_series(points=400)
    assert s.shape == (400,) and abs(s[0] - 0.7206597) < 1e-9
    assert 0.2 < s.min() and s.max() < 1.5 and s[100:].std() > 0.15  # chaotic, bounded, not decaying
    # the solver converges: halving the step changes the first points (before chaos amplifies) very little
    fine = D.mackey_glass_series(points=40, substeps=200)
    assert np.abs(fine - s[:40]).max() < 1e-4
    tr, te = D.load("mackey_glass", window=16)
    assert len(te) == 750 and len(tr) == 750 - 16 and tr.x.shape[1] == 16
    pred = te.naive
    assert 0 < te.smape(pred) < 50 and abs(te.smape(te.y)) < 1e-9
