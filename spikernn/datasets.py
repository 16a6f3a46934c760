"""Data sets as padded tensors: JapaneseVowels (packaged in sktime, no download) and a synthetic task for tests.

All return :class:`SequenceData`: ``x`` (N, T_max, F) float32 zero-padded, ``lengths`` (N,) int64 and
``y`` (N,) int64 class labels.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
from torch import Tensor


@dataclass
class SequenceData:
    """Padded variable-length sequences: ``x`` (N,T,F), ``lengths`` (N,), ``y`` (N,); ``num_classes``."""

    x: Tensor
    lengths: Tensor
    y: Tensor
    num_classes: int

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor, Tensor]:
        """``(x[i], lengths[i], y[i])``."""
        return self.x[i], self.lengths[i], self.y[i]

    @property
    def num_features(self) -> int:
        """F, the features per time step."""
        return int(self.x.shape[2])

    def subset(self, n: Optional[int]) -> "SequenceData":
        """``n`` items spread evenly over the split (the packaged splits are sorted by class, so the first
        ``n`` would be one or two classes), trimmed to their longest sequence; all items (``self``) when ``n``
        is None or not smaller than the split."""
        if n is None or n >= len(self):
            return self
        return self.rows(torch.linspace(0, len(self) - 1, max(int(n), 1)).round().long())

    def rows(self, index: slice | Tensor) -> "SequenceData":
        """The items at ``index`` (a slice or index tensor), trimmed to their longest sequence."""
        lengths = self.lengths[index]
        T = int(lengths.max()) if len(lengths) else 0
        return SequenceData(self.x[index, :T].contiguous(), lengths, self.y[index], self.num_classes)

    def dataset(self) -> torch.utils.data.TensorDataset:
        """As a TensorDataset of (x, lengths, y), e.g. for a DataLoader with a DistributedSampler."""
        return torch.utils.data.TensorDataset(self.x, self.lengths, self.y)


def _pad(seqs: list[np.ndarray]) -> tuple[Tensor, Tensor]:
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.int64)
    x = torch.zeros(len(seqs), int(lengths.max()), seqs[0].shape[1], dtype=torch.float32)
    for i, s in enumerate(seqs):
        x[i, : len(s)] = torch.from_numpy(s.astype(np.float32))
    return x, lengths


def _load_jv_split(split: str) -> tuple[list[np.ndarray], np.ndarray]:
    from sktime.datasets import load_japanese_vowels

    X, y = load_japanese_vowels(split=split, return_X_y=True)
    seqs = []
    for i in range(len(X)):
        row = X.iloc[i]
        cols = [np.asarray(row.iloc[j], dtype=np.float64) for j in range(X.shape[1])]
        n = min(len(c) for c in cols)
        s = np.stack([c[:n] for c in cols], axis=1)  # (T_i, 12)
        s = s[~np.isnan(s).any(axis=1)]  # drop any NaN padding rows
        seqs.append(s)
    labels = np.asarray([int(v) for v in y]) - 1  # "1".."9" -> 0..8
    return seqs, labels


def japanese_vowels(standardize: bool = True) -> tuple[SequenceData, SequenceData]:
    """JapaneseVowels (Kudo et al. 1999; UCR/UEA archive) from sktime: 270 train / 370 test utterances of
    9 speakers, 12 LPC cepstrum coefficients per frame, 7-29 frames. Features standardised with the
    training split's per-feature mean and std (over all valid frames). Returns ``(train, test)``."""
    tr, ytr = _load_jv_split("train")
    te, yte = _load_jv_split("test")
    if standardize:
        allf = np.concatenate(tr, 0)
        mu, sd = allf.mean(0), allf.std(0) + 1e-8
        tr = [(s - mu) / sd for s in tr]
        te = [(s - mu) / sd for s in te]
    xtr, ltr = _pad(tr)
    xte, lte = _pad(te)
    return (SequenceData(xtr, ltr, torch.from_numpy(ytr).long(), 9),
            SequenceData(xte, lte, torch.from_numpy(yte).long(), 9))


def synthetic(n: int = 64, num_classes: int = 3, features: int = 4, min_len: int = 5, max_len: int = 12,
              seed: Optional[int] = 0, noise: float = 0.3) -> SequenceData:
    """Small learnable task: each class has a fixed random prototype direction; a sequence is that direction
    times a slow sine plus Gaussian noise, with a random length in [min_len, max_len]."""
    g = torch.Generator().manual_seed(0 if seed is None else seed)
    protos = torch.randn(num_classes, features, generator=g)
    y = torch.randint(0, num_classes, (n,), generator=g)
    lengths = torch.randint(min_len, max_len + 1, (n,), generator=g)
    x = torch.zeros(n, max_len, features)
    t = torch.arange(max_len, dtype=torch.float32)
    for i in range(n):
        L = int(lengths[i])
        wave = torch.sin(t[:L] * 0.5 + float(y[i])).unsqueeze(1) + 1.0
        x[i, :L] = wave * protos[y[i]] + noise * torch.randn(L, features, generator=g)
    return SequenceData(x, lengths, y, num_classes)
