"""Data sets: one registry of loaders for classification and forecasting, all without downloads.

    >>> import spikernn as snr
    >>> "japanese_vowels" in snr.datasets.available()
    True
    >>> train, test = snr.datasets.load("synthetic", n_train=32, n_test=16)
    >>> train.x.shape[0], test.x.shape[0]
    (32, 16)

Classification sets return :class:`SequenceData`: ``x`` (N, T_max, F) float32 zero-padded after each
sequence's end, ``lengths`` (N,) int64 and ``y`` (N,) int64 class labels in ``0..C-1``. Real sets come from the
UCR/UEA archive files that sktime ships inside its wheel (``sktime/datasets/data/<Name>/<Name>_TRAIN.ts``);
they are read from there, never downloaded. Features are standardised with the training split's per-feature
mean and std over all valid frames (the test split never informs the scaling).

Forecasting sets return :class:`ForecastData` windows of one series (the sktime series Airline, Lynx,
ShampooSales, and Mackey-Glass generated with NeuroBench's parameters): ``x`` (N, window, 1) past values,
``y`` (N, horizon) the next values, ``naive`` (N, horizon) the naive (seasonal) forecast, all in units of the
training part's z-score (``mean``/``std`` undo it).

:func:`available` lists the names (optionally of one ``task``), :func:`info` describes one, :func:`load`
loads one with its options; :func:`register` adds a loader of your own.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Optional

import numpy as np
import torch
from torch import Tensor

TASKS = ("classification", "forecasting")


# --------------------------------------------------------------------------------------------------------
# containers
# --------------------------------------------------------------------------------------------------------
@dataclass
class SequenceData:
    """Padded variable-length sequences: ``x`` (N,T,F), ``lengths`` (N,), ``y`` (N,); ``num_classes``;
    ``class_names`` (the data set's own label of each class index, when it has them)."""

    x: Tensor
    lengths: Tensor
    y: Tensor
    num_classes: int
    class_names: list[str] = field(default_factory=list)

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
        return SequenceData(self.x[index, :T].contiguous(), lengths, self.y[index], self.num_classes,
                            list(self.class_names))

    def holdout(self, fraction: float = 0.2, seed: int = 0, per_class: int | None = None
                ) -> tuple["SequenceData", "SequenceData"]:
        """A stratified validation split: ``(rest, held_out)`` with ``fraction`` of each class's items
        (rounded, at least one where a class has two or more) drawn at random with ``seed``, for choosing
        options without reading the test split. ``per_class`` holds out that many items of each class instead
        (at most all but one).

        >>> d = synthetic(n=30, num_classes=3)
        >>> rest, val = d.holdout(0.2)
        >>> len(rest) + len(val) == len(d), sorted(val.y.tolist()).count(0) >= 1
        (True, True)
        >>> len(d.holdout(seed=1, per_class=2)[1])
        6
        """
        if per_class is None and not 0.0 < fraction < 1.0:
            raise ValueError(f"holdout fraction must be in (0, 1), got {fraction}")
        if per_class is not None and (isinstance(per_class, bool) or not isinstance(per_class, int) or per_class < 1):
            raise ValueError(f"holdout per_class must be a positive int, got {per_class!r}")
        g = torch.Generator().manual_seed(int(seed))
        held = []
        for c in range(self.num_classes):
            idx = torch.nonzero(self.y == c).flatten()
            k = per_class if per_class is not None else max(int(round(fraction * len(idx))), 1 if len(idx) > 1 else 0)
            k = min(k, len(idx) - 1)
            held.append(idx[torch.randperm(len(idx), generator=g)[:max(k, 0)]])
        held_idx = torch.sort(torch.cat(held)).values
        keep = torch.ones(len(self), dtype=torch.bool)
        keep[held_idx] = False
        return self.rows(torch.nonzero(keep).flatten()), self.rows(held_idx)

    def dataset(self) -> torch.utils.data.TensorDataset:
        """As a TensorDataset of (x, lengths, y), e.g. for a DataLoader with a DistributedSampler."""
        return torch.utils.data.TensorDataset(self.x, self.lengths, self.y)


@dataclass
class ForecastData:
    """Windows of one series for forecasting, in z-scored units (``value = z * std + mean``).

    ``x`` (N, window, 1) past values, ``y`` (N, horizon) the next ``horizon`` values, ``naive`` (N, horizon)
    the naive forecast (the value one ``season`` earlier; ``season=1``: the last value), ``lengths`` (N,) all
    ``window`` (for the padded-sequence helpers). ``mean``/``std`` are the training part's.
    """

    x: Tensor
    y: Tensor
    naive: Tensor
    mean: float
    std: float
    season: int = 1
    name: str = ""

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def lengths(self) -> Tensor:
        return torch.full((len(self),), int(self.x.shape[1]), dtype=torch.int64)

    @property
    def horizon(self) -> int:
        return int(self.y.shape[1])

    def rmse(self, pred: Tensor, original_units: bool = True) -> float:
        """Root mean squared error of ``pred`` (N, horizon) against ``y`` (in the series' units by default)."""
        if tuple(pred.shape) != tuple(self.y.shape):
            raise ValueError(f"pred must have shape {tuple(self.y.shape)}, got {tuple(pred.shape)}")
        e = math.sqrt(float(((pred.double() - self.y.double()) ** 2).mean()))
        return e * self.std if original_units else e

    def holdout(self, fraction: float = 0.2) -> tuple["ForecastData", "ForecastData"]:
        """A validation tail: ``(head, tail)`` with the last ``fraction`` of the windows (at least one) as
        ``tail`` and the windows whose targets all come before the tail's first target as ``head``, for choosing
        options without reading the test part (the z-scoring statistics stay this part's).

        >>> tr, _ = windows(np.arange(40.0), window=4, horizon=2)
        >>> head, tail = tr.holdout(0.2)
        >>> len(tail), len(head), float(head.y[-1, -1]) < float(tail.y[0, 0])
        (5, 21, True)
        """
        if not 0.0 < fraction < 1.0:
            raise ValueError(f"holdout fraction must be in (0, 1), got {fraction}")
        k = len(self) - max(int(round(fraction * len(self))), 1)  # first tail window
        if k - self.horizon + 1 < 1:
            raise ValueError(f"{len(self)} windows are too few for a {fraction} validation tail")
        part = lambda a, b: ForecastData(self.x[a:b], self.y[a:b], self.naive[a:b], self.mean, self.std,  # noqa: E731
                                         self.season, self.name)
        return part(0, k - self.horizon + 1), part(k, len(self))

    def smape(self, pred: Tensor) -> float:
        """Symmetric MAPE in percent, on the series' own values, as NeuroBench computes it:
        ``200 mean(|ŷ − y| / (|y| + |ŷ|))``."""
        p = pred.double() * self.std + self.mean
        t = self.y.double() * self.std + self.mean
        return float(200.0 * ((p - t).abs() / (t.abs() + p.abs()).clamp(min=1e-12)).mean())


@dataclass(frozen=True)
class DatasetInfo:
    """A registered data set: ``name``, ``task`` ("classification" or "forecasting"), one-line
    ``description``, ``source`` (where it comes from, with citation) and the ``loader`` called by :func:`load`."""

    name: str
    task: str
    description: str
    source: str
    loader: Callable[..., Any]


_REGISTRY: dict[str, DatasetInfo] = {}


def _key(name: str) -> str:
    return str(name).strip().lower().replace("-", "_").replace(" ", "_")


def register(name: str, loader: Callable[..., Any], task: str, description: str = "", source: str = "",
             replace: bool = False) -> DatasetInfo:
    """Register ``loader(**options) -> (train, test)`` under ``name`` (lower case, "_" for "-").
    Re-registering a name needs ``replace=True``."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    if not callable(loader):
        raise TypeError(f"loader must be callable, got {type(loader).__name__}")
    key = _key(name)
    if key in _REGISTRY and not replace:
        raise ValueError(f"data set {key!r} is already registered (pass replace=True)")
    _REGISTRY[key] = DatasetInfo(key, task, description, source, loader)
    return _REGISTRY[key]


def available(task: Optional[str] = None) -> list[str]:
    """Registered names (of one ``task`` when given), in registration order."""
    if task is not None and task not in TASKS:
        raise ValueError(f"task must be one of {TASKS} or None, got {task!r}")
    return [k for k, v in _REGISTRY.items() if task is None or v.task == task]


def info(name: str) -> DatasetInfo:
    """The registry entry of ``name``; unknown names raise ValueError listing the known ones."""
    key = _key(name)
    if key not in _REGISTRY:
        raise ValueError(f"unknown data set {name!r}; available: {', '.join(available())}")
    return _REGISTRY[key]


def load(name: str, **options: Any) -> tuple[Any, Any]:
    """``(train, test)`` of data set ``name`` (see :func:`available`), with the loader's ``options``
    (e.g. ``pool=4`` for the UCR/UEA sets, ``window=12`` for forecasting sets).

    >>> train, test = load("synthetic", n_train=8, n_test=4, features=3)
    >>> train.num_features, test.num_classes
    (3, 3)
    """
    entry = info(name)
    try:
        return entry.loader(**options)
    except TypeError as e:  # name the loader's options instead of a bare signature error
        import inspect

        params = [p for p in inspect.signature(entry.loader).parameters]
        raise TypeError(f"data set {entry.name!r}: {e}; its options are {params}") from None


# --------------------------------------------------------------------------------------------------------
# padding and scaling helpers
# --------------------------------------------------------------------------------------------------------
def _pad(seqs: list[np.ndarray]) -> tuple[Tensor, Tensor]:
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.int64)
    x = torch.zeros(len(seqs), int(lengths.max()), seqs[0].shape[1], dtype=torch.float32)
    for i, s in enumerate(seqs):
        x[i, : len(s)] = torch.from_numpy(s.astype(np.float32))
    return x, lengths


def _standardize(train: list[np.ndarray], test: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per-feature z-score with the training split's statistics over all valid frames."""
    allf = np.concatenate(train, 0)
    mu, sd = allf.mean(0), allf.std(0) + 1e-8
    return [(s - mu) / sd for s in train], [(s - mu) / sd for s in test]


def _pool(s: np.ndarray, k: int) -> np.ndarray:
    """Average over non-overlapping windows of ``k`` steps (a last partial window averages what it has)."""
    if k == 1:
        return s
    n = int(math.ceil(len(s) / k))
    out = np.empty((n, s.shape[1]), dtype=s.dtype)
    for j in range(n):
        out[j] = s[j * k:(j + 1) * k].mean(0)
    return out


def _labels(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Map label strings to 0..C-1 (numeric order when all labels are numbers, else sorted text)."""
    names = sorted(set(map(str, train)))
    try:
        names = sorted(names, key=float)
    except ValueError:
        pass
    index = {n: i for i, n in enumerate(names)}
    unseen = sorted(set(map(str, test)) - set(names))
    if unseen:
        raise ValueError(f"test labels {unseen} do not occur in the training split")
    return (np.asarray([index[str(v)] for v in train]), np.asarray([index[str(v)] for v in test]), names)


def _finish(tr: list[np.ndarray], te: list[np.ndarray], ytr: np.ndarray, yte: np.ndarray, standardize: bool,
            pool: int = 1, max_len: Optional[int] = None) -> tuple[SequenceData, SequenceData]:
    if not (isinstance(pool, int) and pool >= 1):
        raise ValueError(f"pool must be an int >= 1, got {pool!r}")
    if max_len is not None and not (isinstance(max_len, int) and max_len >= 1):
        raise ValueError(f"max_len must be None or an int >= 1, got {max_len!r}")
    tr, te = [_pool(s, pool) for s in tr], [_pool(s, pool) for s in te]
    if max_len is not None:
        tr, te = [s[:max_len] for s in tr], [s[:max_len] for s in te]
    if standardize:
        tr, te = _standardize(tr, te)
    ytr, yte, names = _labels(ytr, yte)
    (xtr, ltr), (xte, lte) = _pad(tr), _pad(te)
    C = len(names)
    return (SequenceData(xtr, ltr, torch.from_numpy(ytr).long(), C, list(names)),
            SequenceData(xte, lte, torch.from_numpy(yte).long(), C, list(names)))


# --------------------------------------------------------------------------------------------------------
# UCR/UEA classification sets shipped inside sktime
# --------------------------------------------------------------------------------------------------------
def _sktime_data_dir() -> str:
    import sktime

    return os.path.join(os.path.dirname(sktime.__file__), "datasets", "data")


@lru_cache(maxsize=16)
def _read_ts(archive_name: str, split: str) -> tuple[tuple[np.ndarray, ...], tuple[str, ...]]:
    """Sequences (T_i, F) float64 and label strings of one split of a .ts file packaged in sktime."""
    from sktime.datasets import load_from_tsfile

    path = os.path.join(_sktime_data_dir(), archive_name, f"{archive_name}_{split.upper()}.ts")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} is missing: this sktime does not package {archive_name}")
    X, y = load_from_tsfile(path, return_data_type="nested_univ")
    seqs = []
    for i in range(len(X)):
        row = X.iloc[i]
        cols = [np.asarray(row.iloc[j], dtype=np.float64) for j in range(X.shape[1])]
        n = min(len(c) for c in cols)
        s = np.stack([c[:n] for c in cols], axis=1)
        s = s[~np.isnan(s).any(axis=1)]  # drop NaN padding rows
        if len(s) == 0:
            raise ValueError(f"{path}: series {i} has no valid time step")
        seqs.append(s)
    return tuple(seqs), tuple(str(v) for v in y)


def uea(archive_name: str, standardize: bool = True, pool: int = 1,
        max_len: Optional[int] = None) -> tuple[SequenceData, SequenceData]:
    """A UCR/UEA classification set packaged in sktime, by its archive name (e.g. "BasicMotions").

    Args:
        standardize: z-score each feature with the training split's statistics.
        pool: average every ``pool`` consecutive steps into one (shortens long series; lengths become
            ``ceil(L / pool)``). max_len: keep only the first ``max_len`` (pooled) steps.
    Labels map to 0..C-1 in numeric (else text) order; ``class_names`` keeps the archive's labels.
    """
    tr, ytr = _read_ts(archive_name, "train")
    te, yte = _read_ts(archive_name, "test")
    return _finish(list(tr), list(te), np.asarray(ytr), np.asarray(yte), standardize, pool, max_len)


def japanese_vowels(standardize: bool = True) -> tuple[SequenceData, SequenceData]:
    """JapaneseVowels (Kudo et al. 1999; UCR/UEA archive) from sktime: 270 train / 370 test utterances of
    9 speakers, 12 LPC cepstrum coefficients per frame, 7-29 frames. Features standardised with the
    training split's per-feature mean and std (over all valid frames). Returns ``(train, test)``."""
    return uea("JapaneseVowels", standardize=standardize)


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
    return SequenceData(x, lengths, y, num_classes, [str(c) for c in range(num_classes)])


def synthetic_split(n_train: int = 96, n_test: int = 48, num_classes: int = 3, features: int = 4,
                    min_len: int = 6, max_len: int = 12, seed: Optional[int] = 0,
                    noise: float = 0.3) -> tuple[SequenceData, SequenceData]:
    """:func:`synthetic` drawn once with ``n_train + n_test`` sequences and split in that order, so both
    splits share the class prototypes (the demo's synthetic task)."""
    both = synthetic(n_train + n_test, num_classes=num_classes, features=features, min_len=min_len,
                     max_len=max_len, seed=seed, noise=noise)
    return both.rows(slice(0, n_train)), both.rows(slice(n_train, n_train + n_test))


# --------------------------------------------------------------------------------------------------------
# forecasting series
# --------------------------------------------------------------------------------------------------------
def windows(series: np.ndarray, window: int, horizon: int = 1, test_fraction: float = 0.2, season: int = 1,
            name: str = "") -> tuple[ForecastData, ForecastData]:
    """Sliding windows of a 1-D ``series`` for ``horizon``-step-ahead forecasting.

    The last ``test_fraction`` of the points are the test targets (their input windows may reach back into
    the training part, as a forecaster in use would); training windows have all their targets before that.
    Both are z-scored with the training part's mean and std. ``naive``: the seasonal naive forecast, the
    value ``season * ceil(k / season)`` steps before target ``k`` (``season=1``: the last observed value).
    """
    s = np.asarray(series, dtype=np.float64).ravel()
    if not np.isfinite(s).all():
        raise ValueError("series contains NaN or infinite values")
    if window < 1 or horizon < 1 or season < 1:
        raise ValueError(f"window, horizon and season must be >= 1, got {window}, {horizon}, {season}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    n = len(s)
    split = n - max(int(round(test_fraction * n)), horizon)
    if split - window - horizon + 1 < 2 or window < season:
        raise ValueError(f"series of {n} points too short for window {window}, horizon {horizon}, "
                         f"season {season} and test fraction {test_fraction}")
    mean, std = float(s[:split].mean()), float(s[:split].std() + 1e-12)
    z = (s - mean) / std

    def make(first: int, last: int) -> ForecastData:  # targets start at t in [first, last]
        starts = np.arange(first, last + 1)
        x = np.stack([z[t - window:t] for t in starts])[..., None]
        y = np.stack([z[t:t + horizon] for t in starts])
        k = np.arange(1, horizon + 1)
        lag = season * np.ceil(k / season).astype(int)  # how far back the naive value of target k lies
        naive = np.stack([z[t + k - 1 - lag] for t in starts])
        f = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
        return ForecastData(f(x), f(y), f(naive), mean, std, season, name)

    return make(window, split - horizon), make(split, n - horizon)


def _sktime_series(loader_name: str) -> np.ndarray:
    import sktime.datasets as skd

    return np.asarray(getattr(skd, loader_name)().values, dtype=np.float64)


def airline(window: int = 24, horizon: int = 1, test_fraction: float = 0.2, log: bool = True,
            season: int = 12) -> tuple[ForecastData, ForecastData]:
    """Monthly international airline passengers 1949-1960 (Box & Jenkins; sktime ``load_airline``), 144
    points; ``log`` forecasts log passengers (the usual variance-stabilising transform); seasonal naive
    forecast with ``season`` 12."""
    s = _sktime_series("load_airline")
    return windows(np.log(s) if log else s, window, horizon, test_fraction, season, "airline")


def lynx(window: int = 20, horizon: int = 1, test_fraction: float = 0.2, log: bool = True,
         season: int = 1) -> tuple[ForecastData, ForecastData]:
    """Annual Canadian lynx trappings 1821-1934 (sktime ``load_lynx``), 114 points, ~10-year cycle of
    non-integer period; ``log`` (as usual for this series); naive = last value (``season`` 1)."""
    s = _sktime_series("load_lynx")
    return windows(np.log10(s) if log else s, window, horizon, test_fraction, season, "lynx")


def shampoo_sales(window: int = 6, horizon: int = 1, test_fraction: float = 0.25,
                  season: int = 1) -> tuple[ForecastData, ForecastData]:
    """Monthly shampoo sales over three years (Makridakis et al.; sktime ``load_shampoo_sales``), 36 points
    with a trend; naive = last value."""
    return windows(_sktime_series("load_shampoo_sales"), window, horizon, test_fraction, season, "shampoo_sales")


# NeuroBench's Mackey-Glass parameters (neurobench/datasets/mackey_glass.py and mackey_glass_parameters.csv,
# Yik et al., Nature Communications 16:1545, 2025): tau 17, Lyapunov time 197, constant past 0.7206597,
# n 10, beta 0.2, gamma 0.1, 75 points per Lyapunov time, 10 Lyapunov times to train and 10 to test.
MACKEY_GLASS = {"tau": 17.0, "lyaptime": 197.0, "constant_past": 0.7206597, "n": 10.0, "beta": 0.2,
                "gamma": 0.1, "pts_per_lyaptime": 75, "traintime": 10.0, "testtime": 10.0}


@lru_cache(maxsize=4)
def mackey_glass_series(tau: float = 17.0, constant_past: float = 0.7206597, n: float = 10.0, beta: float = 0.2,
                        gamma: float = 0.1, dt: float = 197.0 / 75, points: int = 1501,
                        substeps: int = 100) -> np.ndarray:
    """The Mackey-Glass delay equation ``dy/dt = beta y(t-tau) / (1 + y(t-tau)^n) - gamma y(t)`` with
    ``y = constant_past`` for t <= 0, sampled every ``dt`` from t = 0 (``points`` samples).

    NeuroBench generates it with jitcdde (an adaptive Dormand-Prince DDE solver compiled at run time); here
    it is integrated by classical Runge-Kutta 4 with a fixed step ``tau / round(tau / (dt / substeps))`` and
    the delayed value interpolated linearly on the step grid. Same equation and parameters; as NeuroBench's
    own notes say of different solvers, the chaotic trajectory agrees only for a few Lyapunov times.
    """
    m = max(int(round(tau / (dt / substeps))), 1)  # steps per delay
    h = tau / m
    total = int(math.ceil((points - 1) * dt / h)) + 1
    y = np.empty(total + m + 1)
    y[: m + 1] = constant_past  # y on the grid t = -tau .. 0
    f = lambda yd, yc: beta * yd / (1.0 + yd ** n) - gamma * yc  # noqa: E731
    for i in range(m, m + total):
        yc, d0, d1 = y[i], y[i - m], y[i - m + 1]
        dm = 0.5 * (d0 + d1)
        k1 = f(d0, yc)
        k2 = f(dm, yc + 0.5 * h * k1)
        k3 = f(dm, yc + 0.5 * h * k2)
        k4 = f(d1, yc + h * k3)
        y[i + 1] = yc + h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    grid = np.arange(total + 1) * h
    return np.interp(np.arange(points) * dt, grid, y[m:])


def mackey_glass(window: int = 32, horizon: int = 1) -> tuple[ForecastData, ForecastData]:
    """Mackey-Glass, tau 17, with NeuroBench's protocol of sizes: 1,501 points at 75 per Lyapunov time,
    the first 750 to train and the last 750 as test targets (test windows reach back into training points);
    naive = last value."""
    p = MACKEY_GLASS
    dt = p["lyaptime"] / p["pts_per_lyaptime"]
    n_train = round(p["traintime"] * p["pts_per_lyaptime"])
    n_test = round(p["testtime"] * p["pts_per_lyaptime"])
    s = mackey_glass_series(p["tau"], p["constant_past"], p["n"], p["beta"], p["gamma"], dt, n_train + n_test + 1)
    s = s[1:]  # 1,500 points: 750 + 750
    return windows(s, window, horizon, n_test / (n_train + n_test), 1, "mackey_glass")


# --------------------------------------------------------------------------------------------------------
# the registry
# --------------------------------------------------------------------------------------------------------
_UEA = "UCR/UEA archive (Dau et al. 2019; Bagnall et al. 2018), file packaged in sktime"


def _uea_loader(archive_name: str) -> Callable[..., tuple[SequenceData, SequenceData]]:
    def load_set(standardize: bool = True, pool: int = 1, max_len: Optional[int] = None):
        return uea(archive_name, standardize=standardize, pool=pool, max_len=max_len)

    load_set.__name__ = f"load_{archive_name}"
    load_set.__doc__ = f"{archive_name} through :func:`uea` (options: standardize, pool, max_len)."
    return load_set


def _japanese_vowels_loader(standardize: bool = True, pool: int = 1, max_len: Optional[int] = None):
    return uea("JapaneseVowels", standardize=standardize, pool=pool, max_len=max_len)


register("synthetic", synthetic_split, "classification",
         "generated: class prototype x slow sine + noise, 3 classes, 4 features, lengths 6-12 (tests, demo)",
         "spikernn.datasets.synthetic")
register("japanese_vowels", _japanese_vowels_loader, "classification",
         "speech, 9 speakers, 12 LPC cepstra, 270 train / 370 test, lengths 7-29", "Kudo et al. 1999; " + _UEA)
for _name, _archive, _desc in (
    ("basic_motions", "BasicMotions", "accelerometer + gyroscope, 4 activities, 6 channels, 40 / 40, length 100"),
    ("plaid", "PLAID", "appliance current, 11 classes, univariate, 537 / 537, lengths 100-1,344"),
    ("arrow_head", "ArrowHead", "outline shapes, 3 classes, univariate, 36 / 175, length 251"),
    ("gun_point", "GunPoint", "hand motion, 2 classes, univariate, 50 / 150, length 150"),
    ("italy_power_demand", "ItalyPowerDemand", "daily demand curve, 2 classes, 67 / 1,029, length 24"),
    ("osu_leaf", "OSULeaf", "leaf outlines, 6 classes, univariate, 200 / 242, length 427"),
    ("acsf1", "ACSF1", "appliance power, 10 classes, univariate, 100 / 100, length 1,460"),
):
    register(_name, _uea_loader(_archive), "classification", _desc, _UEA)
register("airline", airline, "forecasting", "monthly airline passengers 1949-1960, 144 points (log), season 12",
         "Box & Jenkins 1976; sktime load_airline")
register("lynx", lynx, "forecasting", "annual lynx trappings 1821-1934, 114 points (log10)",
         "Campbell & Walker 1977; sktime load_lynx")
register("shampoo_sales", shampoo_sales, "forecasting", "monthly shampoo sales, 36 points, trend",
         "Makridakis, Wheelwright & Hyndman 1998; sktime load_shampoo_sales")
register("mackey_glass", mackey_glass, "forecasting",
         "chaotic delay equation, tau 17, NeuroBench's parameters, 750 train / 750 test points",
         "Mackey & Glass 1977; parameters of NeuroBench (Yik et al. 2025), integrated here by RK4")
