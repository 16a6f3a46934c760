"""Data sets: JapaneseVowels from sktime (packaged) and the synthetic helper."""
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


def test_demo_synthetic_splits_share_class_prototypes():
    from spikernn.demo import load_dataset

    ds = load_dataset("synthetic", seed=2)
    assert (len(ds.train), len(ds.test)) == (96, 48)
    # same generator call: the class means of the two splits point the same way
    for c in range(ds.num_classes):
        a = ds.train.x[ds.train.y == c].sum((0, 1))
        b = ds.test.x[ds.test.y == c].sum((0, 1))
        assert torch.nn.functional.cosine_similarity(a, b, dim=0) > 0.9
