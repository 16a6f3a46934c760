"""Data sets by name for the command line (``--data``) and the demo: train and test splits plus what a model
needs to know about them.

A thin layer over the registry of :mod:`spikernn.datasets` (``datasets.load``): the commands classify, so
they offer its classification sets; a generated set is drawn with the run's ``seed``.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

from spikernn import datasets
from spikernn.datasets import SequenceData


def classification_sets() -> tuple[str, ...]:
    """The names ``--data`` accepts: the registry's classification sets (``japanese_vowels``, ``synthetic``,
    the other UCR/UEA sets packaged in sktime, and any registered later)."""
    return tuple(datasets.available("classification"))


DATASETS = classification_sets()  # at import; call classification_sets() to see sets registered later


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
    """The registry name of a classification set (``"JapaneseVowels"``, ``"jv"`` -> ``"japanese_vowels"``);
    ValueError naming the choices for an unknown one."""
    key = str(name).strip().lower().replace("-", "_")
    key = {"japanesevowels": "japanese_vowels", "jv": "japanese_vowels"}.get(key, key)
    if key not in classification_sets():
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(classification_sets())}")
    return key


def load_dataset(name: str = "japanese_vowels", seed: int = 0, **options: Any) -> Dataset:
    """Load a classification set by name through ``spikernn.datasets.load``; ``seed`` draws a generated set
    (``synthetic``), ``options`` are the loader's (e.g. ``n_train``, ``features`` for synthetic; ``pool`` for
    the UCR/UEA sets).

    >>> ds = load_dataset("synthetic", n_train=8, n_test=4)
    >>> len(ds.train), len(ds.test), ds.input_size
    (8, 4, 4)
    """
    key = dataset_key(name)
    entry = datasets.info(key)
    if "seed" in inspect.signature(entry.loader).parameters:
        options = {"seed": seed, **options}
    train, test = datasets.load(key, **options)
    return Dataset(key, train, test, int(train.num_classes), int(train.x.shape[2]), entry.description,
                   list(train.class_names))


def synthetic_dataset(seed: int = 0, **options: Any) -> Dataset:
    """``load_dataset("synthetic", seed, **options)`` (kept for existing callers)."""
    return load_dataset("synthetic", seed=seed, **options)
