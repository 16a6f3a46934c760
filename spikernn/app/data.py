"""Data sets by name for the command line (``--data``) and the demo: train and test splits plus what a model
needs to know about them.

A thin layer over :mod:`spikernn.datasets` (which holds the loaders); it adds the name lookup and the
synthetic train/test split drawn from one generator.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from spikernn.datasets import SequenceData

DATASETS = ("japanese_vowels", "synthetic")


@dataclass
class Dataset:
    """Train and test splits plus what a model needs to know about them."""

    name: str
    train: SequenceData
    test: SequenceData
    num_classes: int
    input_size: int
    description: str = ""
    class_names: list[str] = field(default_factory=list)

    def split(self, which: str) -> SequenceData:
        """The "train" or "test" split."""
        if which not in ("train", "test"):
            raise ValueError(f"unknown split {which!r}; use 'train' or 'test'")
        return self.train if which == "train" else self.test


def dataset_key(name: str) -> str:
    """The canonical name of a data set (``"JapaneseVowels"``, ``"jv"`` -> ``"japanese_vowels"``); ValueError
    naming the choices for an unknown one."""
    key = str(name).strip().lower().replace("-", "_")
    key = {"japanesevowels": "japanese_vowels", "jv": "japanese_vowels"}.get(key, key)
    if key not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
    return key


def load_dataset(name: str = "japanese_vowels", seed: int = 0, **options: Any) -> Dataset:
    """Load a data set by name: ``japanese_vowels`` (packaged in sktime) or ``synthetic`` (generated).

    Synthetic options: ``n_train`` (default 96), ``n_test`` (48), ``input_size`` (4), ``num_classes`` (3),
    ``min_len`` (6), ``max_len`` (12); ``seed`` draws it.

    >>> ds = load_dataset("synthetic", n_train=8, n_test=4)
    >>> len(ds.train), len(ds.test), ds.input_size
    (8, 4, 4)
    """
    key = dataset_key(name)
    if key == "japanese_vowels":
        if options:
            raise TypeError(f"japanese_vowels takes no options, got {sorted(options)}")
        return _japanese_vowels()
    return synthetic_dataset(seed=seed, **options)


def _japanese_vowels() -> Dataset:
    """JapaneseVowels through :func:`spikernn.datasets.japanese_vowels` (standardised with the training split's
    statistics)."""
    from spikernn.datasets import japanese_vowels

    tr, te = japanese_vowels()
    nc = tr.num_classes
    return Dataset("japanese_vowels", tr, te, nc,
                   int(tr.x.shape[2]), "JapaneseVowels (sktime): 12 LPC cepstra, 9 speakers, standardised",
                   [str(i + 1) for i in range(nc)])


def synthetic_dataset(seed: int = 0, n_train: int = 96, n_test: int = 48, input_size: int = 4, num_classes: int = 3,
                      min_len: int = 6, max_len: int = 12) -> Dataset:
    """:func:`spikernn.datasets.synthetic` (class prototype x slow sine + noise, varying lengths, zero
    padding) drawn once with ``n_train + n_test`` sequences and split, so both splits share the prototypes."""
    from spikernn.datasets import synthetic

    both = synthetic(n_train + n_test, num_classes=num_classes, features=input_size, min_len=min_len,
                     max_len=max_len, seed=seed)
    train, test = both.rows(slice(0, n_train)), both.rows(slice(n_train, n_train + n_test))
    return Dataset("synthetic", train, test, num_classes, input_size,
                   f"synthetic: {num_classes} classes, {input_size} features, lengths {min_len}-{max_len}",
                   [str(i) for i in range(num_classes)])
