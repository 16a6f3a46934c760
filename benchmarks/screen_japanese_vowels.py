"""Screen of JapaneseVowels "best recipe" candidates for the spiking LSTM/GRU, chosen on a validation split.

Each candidate (a name and a JSON dict of options) is trained on part of the 270 training utterances and scored
on the rest (``--split val``: a fixed stratified hold-out of ``--val`` utterances per class, drawn once with
seed 1234 + the run's seed, so each seed holds out other utterances; the test split is never read), or on the full training set and scored on the 370 test utterances
(``--split test``, for the final 3-seed figures of the chosen candidate). Every run is appended to ``--log``.

    nice -n 19 .venv/bin/python benchmarks/screen_japanese_vowels.py --split val --seeds 0,1 \\
        --cand base '{}' --cand ls '{"label_smoothing": 0.1}'

Options (model): kind, hidden, layers, dropout, readout_decay, learn_readout_decay, readout_mean (logits
averaged over the valid steps instead of read at the last one), fbias (added to the LSTM's forget-gate input
bias at initialisation), rdrop (dropout on the readout's input spikes, training only), neuron options (any key
of :class:`spikernn.neurons.NeuronOptions`, e.g. neuron, threshold, learn_threshold, adapt_gain, surrogate_options).
Options (training): epochs, lr, batch, wd, clip, sched (cosine | onecycle | none), warmup (fraction, onecycle),
crop (random time crop fraction), noise (Gaussian input noise std), in_dropout (dropout on the input features),
warp (random time-warp factor range +-warp, linear resampling), label_smoothing, swa (fraction of the last epochs
whose end-of-epoch weights are averaged into the final model, ``torch.optim.swa_utils.AveragedModel``; one model),
swa_lr (with swa: the schedule spans the epochs before the averaging phase, which runs at this constant lr),
scale (each sequence's features multiplied by one random factor in [1-scale, 1+scale]), mixup (Beta(mixup, mixup)
mixing weight λ; each sequence mixed with a partner of the batch resampled linearly to its length, loss
λ·CE(y) + (1-λ)·CE(y_partner)), kd (weight of a distillation term: (1-kd)·CE + kd·T²·KL(teacher/T ‖ net/T), with
kd_T = T, from a dense kd_teacher ("lstm" | "gru") classifier trained first on the same utterances by the same loop;
one spiking model comes out, the teacher is used only for training).
Options (model, continued): winit (the first layer's input weights multiplied by this factor at initialisation).
Options (data, both splits alike, statistics from the training part only): delta (k > 0: append the causal
difference x_t - x_{t-k} of every feature, scaled to unit std), repeat (r > 1: every frame presented r times),
stack (r > 1: r consecutive frames concatenated into one step, F -> rF, lengths ceil(L/r); causal: a step waits
for its r frames; the last step of a sequence is zero-padded).
Round 10 (f17lstm) options: readout_max (logits = the readout's maximum over the valid steps), in_scale (a
learnable per-feature gain, initialised to 1, multiplying the input before the first layer), reverse (probability
that a training sequence is presented reversed in time; augmentation only, the model stays unidirectional),
fmask (SpecAugment-style feature mask: per training sequence a band of 0..fmask adjacent features set to 0, the
training mean), tmask (per training sequence a span of 0..tmask valid steps set to 0), opt ("adam" | "adamw":
decoupled weight decay wd), beta2 (Adam's second-moment decay), ema (decay of an exponential moving average of the
weights, updated after every optimiser step; the final model takes the averaged weights), rorth (the first
layer's recurrent weights drawn orthogonal, gate block by gate block, at initialisation), tet (weight λ of a
per-step loss, as TET (Deng et al., ICLR 2022): loss = (1-λ)·CE(readout at the last valid step) + λ·mean of
CE(readout at step t) over the valid steps t >= tet_from·length; the model is still read at the last step).
"""
from __future__ import annotations

import argparse
import json
import math
import time

import torch
from torch import nn

import spikernn as snr
from bench_accuracy import WeightAverage, add_deltas  # the harness's weight averaging and delta features

MODEL_KEYS = ("kind", "hidden", "layers", "dropout", "readout_decay", "learn_readout_decay", "readout_mean", "fbias",
              "rdrop", "winit", "readout_max", "in_scale", "rorth")
DATA_KEYS = ("delta", "repeat", "stack")
TRAIN_KEYS = ("epochs", "lr", "batch", "wd", "clip", "sched", "warmup", "crop", "noise", "warp", "label_smoothing",
              "in_dropout", "swa", "swa_lr", "scale", "mixup", "kd", "kd_T", "kd_teacher", "reverse", "fmask", "tmask",
              "opt", "beta2", "ema", "tet", "tet_from")
DEFAULTS = {"kind": "gru", "hidden": 128, "layers": 1, "dropout": 0.0, "readout_decay": 0.97,
            "learn_readout_decay": False, "readout_mean": False, "learn_threshold": True,
            "epochs": 200, "lr": 3e-3, "batch": 32, "wd": 0.0, "clip": 1.0, "sched": "cosine", "warmup": 0.3,
            "crop": 0.2, "noise": 0.0, "warp": 0.0, "label_smoothing": 0.1, "fbias": 0.0, "in_dropout": 0.0, "swa": 0.0,
            "swa_lr": 0.0, "rdrop": 0.0, "scale": 0.0, "mixup": 0.0, "delta": 0, "repeat": 1, "winit": 1.0, "kd": 0.0, "kd_T": 2.0,
            "kd_teacher": "lstm", "readout_max": False, "in_scale": False, "rorth": False, "stack": 1, "reverse": 0.0, "fmask": 0,
            "tmask": 0, "opt": "adam", "beta2": 0.999, "ema": 0.0,
            "tet": 0.0, "tet_from": 0.0}


def split(data: snr.datasets.SequenceData, per_class: int, seed: int = 1234):
    """Stratified hold-out: ``per_class`` utterances of each class to validation, the rest to training
    (:meth:`SequenceData.holdout`; the same draws as this screen's records, which predate it)."""
    return data.holdout(seed=seed, per_class=per_class)


class MeanReadout(nn.Module):
    """Wrap a SpikingSequenceClassifier: logits = readout averaged over each sequence's valid steps."""

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.rnn = net.rnn

    def forward(self, x, lengths=None):
        y = self.net.forward_steps(x, lengths)  # (B,T,C)
        if lengths is None:
            return y.mean(1)
        m = (torch.arange(y.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)).to(y.dtype).unsqueeze(-1)
        return (y * m).sum(1) / lengths.to(y.dtype).unsqueeze(1)


class MaxReadout(MeanReadout):
    """Wrap a SpikingSequenceClassifier: logits = readout's maximum over each sequence's valid steps."""

    def forward(self, x, lengths=None):
        y = self.net.forward_steps(x, lengths)  # (B,T,C)
        if lengths is None:
            return y.amax(1)
        m = (torch.arange(y.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)).unsqueeze(-1)
        return y.masked_fill(~m, float("-inf")).amax(1)


class InScale(nn.Module):
    """A learnable per-feature input gain (initialised to 1) in front of a classifier."""

    def __init__(self, net, F):
        super().__init__()
        self.inner = net
        self.rnn = net.rnn
        self.gain = nn.Parameter(torch.ones(F))

    def forward(self, x, lengths=None):
        return self.inner(x * self.gain, lengths)


def build(o: dict, F: int, C: int) -> nn.Module:
    neuron = {k: v for k, v in o.items() if k not in MODEL_KEYS and k not in TRAIN_KEYS and k not in DATA_KEYS}
    net = snr.SpikingSequenceClassifier(o["kind"], F, o["hidden"], C, num_layers=o["layers"], dropout=o["dropout"],
                                        readout_decay=o["readout_decay"],
                                        learn_readout_decay=o["learn_readout_decay"], **neuron)
    if o["fbias"] and o["kind"] == "lstm":  # forget-gate bias init (gate order i, f, g, o as torch.nn.LSTM)
        H = o["hidden"]
        with torch.no_grad():
            for name, p in net.rnn.named_parameters():
                if name.startswith("bias_ih"):
                    p[H:2 * H] += o["fbias"]
    if o["winit"] != 1.0:  # input weights scaled at initialisation
        with torch.no_grad():
            net.rnn.weight_ih_l0.mul_(o["winit"])
    if o["rorth"]:  # orthogonal recurrent weights per gate block (H x H each)
        with torch.no_grad():
            w = net.rnn.weight_hh_l0
            for k in range(w.shape[0] // w.shape[1]):
                nn.init.orthogonal_(w[k * w.shape[1]:(k + 1) * w.shape[1]])
    if o.get("rdrop"):  # dropout on the readout's input (the last layer's spikes), training only
        p = o["rdrop"]
        net.readout.register_forward_pre_hook(lambda m, a: (nn.functional.dropout(a[0], p, m.training), *a[1:]))
    net = MeanReadout(net) if o["readout_mean"] else MaxReadout(net) if o["readout_max"] else net
    return InScale(net, F) if o["in_scale"] else net


def features(tr: snr.datasets.SequenceData, ev: snr.datasets.SequenceData, o: dict):
    """Data options (both splits alike, statistics from ``tr`` only): ``delta`` k > 0 appends the causal
    difference x_t - x_{t-k} (x before the first step taken as x_0), each channel divided by its std over
    ``tr``'s valid steps; ``repeat`` r > 1 presents every frame r times in a row (lengths x r)."""
    if o["delta"]:
        tr, ev = add_deltas(tr, ev, o["delta"])
    if o["repeat"] > 1:
        r = o["repeat"]
        tr, ev = (snr.datasets.SequenceData(d.x.repeat_interleave(r, 1), d.lengths * r, d.y, d.num_classes,
                                            list(d.class_names)) for d in (tr, ev))
    if o["stack"] > 1:
        r = o["stack"]

        def stack(d):
            B, T, F = d.x.shape
            T2 = -(-T // r)
            x = torch.cat([d.x, d.x.new_zeros(B, T2 * r - T, F)], 1).reshape(B, T2, r * F)
            return snr.datasets.SequenceData(x, -(-d.lengths // r), d.y, d.num_classes, list(d.class_names))
        tr, ev = stack(tr), stack(ev)
    return tr, ev


def augment(x, L, o, g):
    """Random time crop (fraction o['crop']) and time warp (factor in [1-warp, 1+warp]) per sequence; then
    time reversal (probability o['reverse']), feature and time masks (o['fmask'], o['tmask'])."""
    if not (o["crop"] or o["warp"]):
        return mask(x, L, o, g)
    outs, lens = [], []
    for b in range(x.shape[0]):
        n = int(L[b])
        s = x[b, :n]
        if o["crop"]:
            k = max(1, int(round(n * (1 - o["crop"] * float(torch.rand(1, generator=g))))))
            st = int(torch.randint(0, n - k + 1, (1,), generator=g))
            s = s[st:st + k]
        if o["warp"]:
            f = 1 + o["warp"] * (2 * float(torch.rand(1, generator=g)) - 1)
            m = max(2, int(round(s.shape[0] * f)))
            s = nn.functional.interpolate(s.T.unsqueeze(0), size=m, mode="linear", align_corners=True)[0].T
        outs.append(s)
        lens.append(s.shape[0])
    T = max(lens)
    out = x.new_zeros(x.shape[0], T, x.shape[2])
    for b, s in enumerate(outs):
        out[b, : s.shape[0]] = s
    return mask(out, torch.tensor(lens), o, g)


def mask(x, L, o, g):
    """Round 10's augmentations, per training sequence: time reversal of the valid steps with probability
    o['reverse']; a band of 0..o['fmask'] adjacent features and a span of 0..o['tmask'] valid steps set to 0."""
    if not (o["reverse"] or o["fmask"] or o["tmask"]):
        return x, L
    x = x.clone()
    F = x.shape[2]
    for b in range(x.shape[0]):
        n = int(L[b])
        if o["reverse"] and float(torch.rand(1, generator=g)) < o["reverse"]:
            x[b, :n] = x[b, :n].flip(0)
        if o["fmask"]:
            w = int(torch.randint(0, o["fmask"] + 1, (1,), generator=g))
            f0 = int(torch.randint(0, F - w + 1, (1,), generator=g))
            x[b, :, f0:f0 + w] = 0
        if o["tmask"]:
            w = min(int(torch.randint(0, o["tmask"] + 1, (1,), generator=g)), n - 1)
            t0 = int(torch.randint(0, n - w + 1, (1,), generator=g))
            x[b, t0:t0 + w] = 0
    return x, L


def mixup(x, L, y, alpha, g):
    """Mixup for sequences: λ ~ Beta(alpha, alpha) for the batch; each sequence b is mixed with partner p(b) (a
    random permutation of the batch) resampled linearly to b's length. Returns (mixed x, λ, partner labels)."""
    lam = float(torch.distributions.Beta(alpha, alpha).sample()) if alpha > 0 else 1.0
    perm = torch.randperm(x.shape[0], generator=g)
    out = x.clone()
    for b in range(x.shape[0]):
        n, p = int(L[b]), int(perm[b])
        s = x[p, : int(L[p])]
        r = nn.functional.interpolate(s.T.unsqueeze(0), size=n, mode="linear", align_corners=True)[0].T if n > 1 \
            else s[:1]
        out[b, :n] = lam * x[b, :n] + (1 - lam) * r
    return out, lam, y[perm]


def teacher(data, o, seed):
    """kd > 0: a dense ``kd_teacher`` classifier (snr.DenseSequenceClassifier, same hidden size) trained on the same
    training utterances with the same loop (no distillation); used only to give soft targets during training."""
    t = snr.DenseSequenceClassifier(o["kd_teacher"], data.num_features, o["hidden"], data.num_classes)
    train(t, data, {**o, "kd": 0.0}, seed + 10_000)
    return t


def train(net, data, o, seed):
    tnet = teacher(data, o, seed) if o["kd"] else None
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    Opt = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[o["opt"]]
    opt = Opt(net.parameters(), lr=o["lr"], weight_decay=o["wd"], betas=(0.9, o["beta2"]))
    ema = {k: v.detach().clone() for k, v in net.named_parameters()} if o["ema"] else None
    avg = WeightAverage(net, o["epochs"], o.get("swa", 0.0), o.get("swa_lr") or None)
    steps = avg.schedule_epochs(o["epochs"]) * math.ceil(len(data) / o["batch"])
    if o["sched"] == "cosine":
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 0.5 * (1 + math.cos(math.pi * min(i, steps) / steps)))
    elif o["sched"] == "onecycle":
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, o["lr"], total_steps=steps, pct_start=o["warmup"])
    else:
        sched = None
    net.train()
    for epoch in range(o["epochs"]):
        sched = avg.begin_epoch(epoch, opt, sched)
        perm = torch.randperm(len(data), generator=g)
        for i in range(0, len(perm), o["batch"]):
            j = perm[i:i + o["batch"]]
            L = data.lengths[j]
            x = data.x[j, : int(L.max())]
            x, L = augment(x, L, o, g)
            if o["noise"]:
                x = x + o["noise"] * torch.randn_like(x)
            if o["in_dropout"]:
                x = nn.functional.dropout(x, o["in_dropout"])
            if o["scale"]:
                x = x * (1 + o["scale"] * (2 * torch.rand(x.shape[0], 1, 1, generator=g) - 1))
            y, lam, y2 = data.y[j], 1.0, None
            if o["mixup"]:
                x, lam, y2 = mixup(x, L, y, o["mixup"], g)
            if o["tet"]:  # per-step loss on the readout over the valid steps from tet_from of each sequence on
                ys = net.forward_steps(x, L)  # (B,T,C)
                logits = ys[torch.arange(ys.shape[0]), L - 1]
                t = torch.arange(ys.shape[1]).unsqueeze(0)
                m = ((t < L.unsqueeze(1)) & (t >= (o["tet_from"] * L.unsqueeze(1)).floor())).float()
                ce = nn.functional.cross_entropy(ys.reshape(-1, ys.shape[-1]), y.repeat_interleave(ys.shape[1]),
                                                 label_smoothing=o["label_smoothing"], reduction="none")
                per = (ce.view_as(m) * m).sum(1) / m.sum(1).clamp_min(1)
                loss = (1 - o["tet"]) * nn.functional.cross_entropy(logits, y, label_smoothing=o["label_smoothing"]) \
                    + o["tet"] * per.mean()
            else:
                logits = net(x, L)
                loss = nn.functional.cross_entropy(logits, y, label_smoothing=o["label_smoothing"])
            if tnet is not None:  # distillation: KL to the teacher's softened logits on the same (augmented) batch
                with torch.no_grad():
                    tl = tnet(x, L)
                T = o["kd_T"]
                kl = nn.functional.kl_div(nn.functional.log_softmax(logits / T, -1), nn.functional.softmax(tl / T, -1),
                                          reduction="batchmean") * T * T
                loss = (1 - o["kd"]) * loss + o["kd"] * kl
            if y2 is not None:
                loss = lam * loss + (1 - lam) * nn.functional.cross_entropy(logits, y2,
                                                                            label_smoothing=o["label_smoothing"])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if o["clip"]:
                nn.utils.clip_grad_norm_(net.parameters(), o["clip"])
            opt.step()
            if sched is not None:
                sched.step()
            if ema is not None:
                with torch.no_grad():
                    for k, v in net.named_parameters():
                        ema[k].mul_(o["ema"]).add_(v.detach(), alpha=1 - o["ema"])
        avg.end_epoch(epoch)
    avg.finish()
    if ema is not None:
        with torch.no_grad():
            for k, v in net.named_parameters():
                v.copy_(ema[k])
    net.eval()


@torch.no_grad()
def score(net, data):
    net.eval()
    L = data.lengths
    logits = net(data.x[:, : int(L.max())], L)
    acc = float((logits.argmax(-1) == data.y).float().mean())
    rnn = net.rnn
    rate = sum(float(a.total_spikes) for a in rnn.last_activity) / max(sum(a.neuron_steps for a in rnn.last_activity), 1)
    return acc, rate


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=["val", "test"], default="val")
    ap.add_argument("--val", type=int, default=10, help="validation utterances per class (--split val)")
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--kinds", default="gru", help="comma-separated kinds, each candidate run for each")
    ap.add_argument("--cand", nargs=2, action="append", metavar=("NAME", "JSON"), required=True)
    ap.add_argument("--log", default="benchmarks/results/round4/screen_jv.jsonl")
    a = ap.parse_args()
    torch.set_num_threads(1)
    train_all, test = snr.datasets.japanese_vowels()
    import os
    print(f"split {a.split}; load {os.getloadavg()[0]:.1f}")
    for name, js in a.cand:
        for kind in a.kinds.split(","):
            o = {**DEFAULTS, "kind": kind, **json.loads(js)}
            accs = []
            for seed in [int(s) for s in a.seeds.split(",")]:
                tr, ev = split(train_all, a.val, 1234 + seed) if a.split == "val" else (train_all, test)
                tr, ev = features(tr, ev, o)
                torch.manual_seed(seed)
                net = build(o, tr.num_features, tr.num_classes)
                t0, c0 = time.perf_counter(), time.process_time()
                train(net, tr, o, seed)
                acc, rate = score(net, ev)
                accs.append(acc)
                rec = {"name": name, "split": a.split, "seed": seed, "opts": o, "acc": acc, "rate": rate,
                       "wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0,
                       "load": os.getloadavg()[0]}
                with open(a.log, "a") as f:
                    f.write(json.dumps(rec) + "\n")
                print(f"  {name:<18} {kind} seed {seed}: {100 * acc:6.2f} %  r {rate:.3f}  "
                      f"({rec['cpu_s']:.0f} s cpu, load {rec['load']:.1f})", flush=True)
            m = sum(accs) / len(accs)
            sd = (sum((x - m) ** 2 for x in accs) / max(len(accs) - 1, 1)) ** 0.5
            print(f"= {name:<18} {kind}: {100 * m:.2f} ± {100 * sd:.2f}", flush=True)


if __name__ == "__main__":
    main()
