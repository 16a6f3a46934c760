"""A spoken-word MFCC task made with espeak-ng: a stand-in for the ~2,000-utterance, 10-class MFCC
spoken-word task of issue 17, which the project does not have.

Ten command words ("yes no up down left right on off stop go", as in Speech Commands) are spoken by
espeak-ng with many voices (languages' accents x voice variants), speeds, pitches and word gaps, then white
noise at a random SNR of 5-30 dB and a random silent lead-in are added. Features are 13 MFCCs (25 ms Hamming
windows, 10 ms hop, 26 mel bands, pre-emphasis 0.97, written out below with numpy because no audio library
is a dependency) per frame, z-scored with the training split's statistics. Train and test use disjoint voice
variants, so the test measures generalisation to new speakers. It is synthetic speech: easier than real
recordings, kept only as a proxy for the failure the issue reports; it needs the ``espeak-ng`` program
(Debian package ``espeak-ng``) and is cached under ``~/.cache/spikernn``.

    .venv/bin/python benchmarks/tts_words.py          # builds the cache and prints the split sizes
"""
from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import torch

from spikernn.datasets import SequenceData, _finish

WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-029", "en-gb-x-rp", "en-us-nyc", "en-gb-x-gbclan")
TRAIN_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "f1", "f2", "f3")
TEST_VARIANTS = ("m6", "m7", "f4", "f5")
# voices of the development split (tts_words_dev), in neither the training nor the test split
DEV_VARIANTS = ("m8", "paul", "linda", "Annie")
VERSION = 1


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def _speak(word: str, voice: str, speed: int, pitch: int) -> tuple[np.ndarray, int]:
    out = subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", word],
                         check=True, capture_output=True, timeout=30).stdout
    with wave.open(io.BytesIO(out)) as w:
        rate = w.getframerate()
        a = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float64) / 32768.0
    return a, rate


def mfcc(signal: np.ndarray, rate: int, n_mfcc: int = 13, n_mels: int = 26, win_s: float = 0.025,
         hop_s: float = 0.010) -> np.ndarray:
    """(frames, n_mfcc) MFCCs: pre-emphasis, Hamming frames, power spectrum, mel filterbank, log, DCT-II."""
    from scipy.fftpack import dct

    x = np.append(signal[0], signal[1:] - 0.97 * signal[:-1])
    win, hop = int(round(win_s * rate)), int(round(hop_s * rate))
    n_fft = 1 << (win - 1).bit_length()
    n = 1 + max(0, (len(x) - win) // hop)
    frames = np.stack([x[i * hop:i * hop + win] for i in range(n)]) * np.hamming(win)
    power = np.abs(np.fft.rfft(frames, n_fft)) ** 2 / n_fft
    mel = lambda f: 2595 * np.log10(1 + f / 700.0)  # noqa: E731
    imel = lambda m: 700 * (10 ** (m / 2595.0) - 1)  # noqa: E731
    pts = imel(np.linspace(mel(0), mel(rate / 2), n_mels + 2))
    bins = np.floor((n_fft + 1) * pts / rate).astype(int)
    fb = np.zeros((n_mels, n_fft // 2 + 1))
    for m in range(1, n_mels + 1):
        lo, c, hi = bins[m - 1], bins[m], bins[m + 1]
        fb[m - 1, lo:c] = (np.arange(lo, c) - lo) / max(c - lo, 1)
        fb[m - 1, c:hi] = (hi - np.arange(c, hi)) / max(hi - c, 1)
    energies = np.log(np.maximum(power @ fb.T, 1e-10))
    return dct(energies, type=2, axis=1, norm="ortho")[:, :n_mfcc]


def voice_variants() -> set[str]:
    """The voice variants this espeak-ng has (its file names under ``!v/``, the names ``-v lang+variant`` takes):
    espeak-ng speaks an unknown variant silently in the language's plain voice, so names are checked first."""
    out = subprocess.run(["espeak-ng", "--voices=variant"], check=True, capture_output=True, text=True,
                         timeout=30).stdout
    return {cols[4].split("/", 1)[-1] for cols in (line.split() for line in out.splitlines()[1:]) if len(cols) >= 5}


def _utterances(variants: tuple[str, ...], per_word: int, seed: int) -> tuple[list[np.ndarray], list[str]]:
    missing = sorted(set(variants) - voice_variants())
    if missing:
        raise RuntimeError(f"espeak-ng has no voice variant(s) {missing} (espeak-ng --voices=variant lists them)")
    rng = np.random.default_rng(seed)
    seqs, labels = [], []
    for w in WORDS:
        for _ in range(per_word):
            voice = f"{rng.choice(ACCENTS)}+{rng.choice(variants)}"
            a, rate = _speak(w, voice, int(rng.integers(110, 230)), int(rng.integers(15, 85)))
            lead = np.zeros(int(rng.uniform(0.0, 0.25) * rate))
            a = np.concatenate([lead, a])
            snr_db = rng.uniform(5, 30)
            p = np.mean(a ** 2) + 1e-12
            a = a + rng.standard_normal(len(a)) * np.sqrt(p / 10 ** (snr_db / 10))
            seqs.append(mfcc(a, rate))
            labels.append(w)
    return seqs, labels


def _cache_path(name: str, n_train: int, n_other: int, seed: int, cache) -> Path:
    tag = hashlib.sha1(f"{VERSION}-{n_train}-{n_other}-{seed}".encode()).hexdigest()[:10]
    return Path(cache or Path.home() / ".cache" / "spikernn") / f"{name}_{tag}.npz"


def _load_or_build(path: Path, n_train: int, n_other: int, seed: int, other_variants: tuple[str, ...],
                   other_seed: int, pool: int) -> tuple[SequenceData, SequenceData]:
    """The training split (voices TRAIN_VARIANTS, seed ``seed``) and a second split of ``n_other`` utterances
    (voices ``other_variants``, seed ``other_seed``), built once and cached at ``path``."""
    if not espeak_available():
        raise RuntimeError("tts_words needs the espeak-ng program (Debian package espeak-ng)")
    if not path.exists():
        tr, ytr = _utterances(TRAIN_VARIANTS, n_train // len(WORDS), seed)
        te, yte = _utterances(other_variants, n_other // len(WORDS), other_seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        lens = lambda s: np.array([len(q) for q in s])  # noqa: E731
        np.savez_compressed(path, tr=np.concatenate(tr), ltr=lens(tr), ytr=np.array(ytr), te=np.concatenate(te),
                            lte=lens(te), yte=np.array(yte))
    d = np.load(path)
    split = lambda a, L: np.split(a, np.cumsum(L)[:-1])  # noqa: E731
    return _finish(split(d["tr"], d["ltr"]), split(d["te"], d["lte"]), d["ytr"], d["yte"], True, pool)


def tts_words(n_train: int = 1600, n_test: int = 400, seed: int = 0, pool: int = 1,
              cache: str | os.PathLike | None = None) -> tuple[SequenceData, SequenceData]:
    """``(train, test)`` of the espeak-ng spoken-word MFCC task (see the module docstring); ``pool``
    averages that many consecutive frames into one (``pool=2``: a 20 ms hop, half the steps)."""
    return _load_or_build(_cache_path("tts_words", n_train, n_test, seed, cache), n_train, n_test, seed,
                          TEST_VARIANTS, seed + 1, pool)


def tts_words_dev(n_train: int = 1600, n_dev: int = 400, seed: int = 0, pool: int = 1,
                  cache: str | os.PathLike | None = None) -> tuple[SequenceData, SequenceData]:
    """``(train, dev)``: the same training split as :func:`tts_words` and ``n_dev`` utterances of the voice
    variants :data:`DEV_VARIANTS`, disjoint from both the training and the test voices: a development set for
    screening options without looking at the test split (``bench_accuracy.py --data tts_words_dev``)."""
    return _load_or_build(_cache_path("tts_words_dev", n_train, n_dev, seed, cache), n_train, n_dev, seed,
                          DEV_VARIANTS, seed + 2, pool)


if __name__ == "__main__":
    import time

    t0 = time.perf_counter()
    tr, te = tts_words()
    print(f"tts_words: train {tuple(tr.x.shape)}, test {tuple(te.x.shape)}, classes {tr.class_names}, "
          f"lengths {int(tr.lengths.min())}-{int(tr.lengths.max())}, {time.perf_counter() - t0:.1f} s")
    del torch
