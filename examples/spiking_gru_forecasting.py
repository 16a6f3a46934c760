"""Forecasting with a spiking GRU: predict the next value(s) of a series from a window of past values.

    .venv/bin/python examples/spiking_gru_forecasting.py                          # Airline, one step ahead
    .venv/bin/python examples/spiking_gru_forecasting.py --series mackey_glass    # chaotic, tau 17
    .venv/bin/python examples/spiking_gru_forecasting.py --series lynx --horizon 3

A ``spikernn.SpikingGRU`` reads the window (the analog value drives its first synapses) and a linear readout
neuron gives the forecast at the last step, added to the window's last value (the network learns the change;
:mod:`spikernn.forecasting`). Regression needs more precision than binary spikes carry, so the GRU's neurons
talk in **graded spikes** (``neuron="delta"``, Loihi 2's sigma-delta events: a neuron sends the change of its
value only when it exceeds the event threshold ϑ, ``--threshold``, default ``forecasting.GRADED_THRESHOLD``;
docs/equations.md), with its input weights drawn at nn.GRU's scale (``forecasting.torch_input_init``): the
harness's recipe ``graded`` (``forecasting.graded``), within 1.2x of the dense GRU's error on Airline, Lynx and
Mackey-Glass one and five steps ahead (benchmarks/results/round5/forecasting_r5.md).
``--binary`` uses the binary-spiking soma (LIF) with a leaky readout instead. Trained on MSE next to a dense
``nn.GRU`` with the same loop; both are compared with the naive (seasonal) forecast, and the events per neuron
per step are printed. The spiking model is then converted to a bit-accurate fixed-point Loihi-style network
(readout included) and run on the fast simulator (and on Lava when it is installed: the same bits), whose
forecasts are compared with PyTorch's. Under a minute on 2 CPU cores for the sktime series, minutes for
Mackey-Glass.
"""
from __future__ import annotations

import argparse
import time

import torch
from torch import nn

import spikernn as snr
from spikernn import forecasting

SEASONS = {"airline": 12}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--series", choices=snr.datasets.available("forecasting"), default="airline")
    ap.add_argument("--window", type=int, default=24)
    ap.add_argument("--horizon", type=int, default=1)
    ap.add_argument("--hidden-size", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=None, help="default 100 (200 for mackey_glass), as the harness")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threshold", type=float, default=None,
                    help=f"graded mode: event threshold (default {forecasting.GRADED_THRESHOLD})")
    ap.add_argument("--binary", action="store_true", help="binary spikes (LIF soma) with a leaky readout")
    args = ap.parse_args()
    torch.set_num_threads(1)
    epochs = args.epochs or (200 if args.series == "mackey_glass" else 100)
    train, test = snr.datasets.load(args.series, window=args.window, horizon=args.horizon)
    print(f"{args.series}: {len(train)} training / {len(test)} test windows of {args.window} steps, "
          f"horizon {args.horizon}; {snr.datasets.info(args.series).description}")

    results = {}
    for name, layer in (("SpikingGRU", snr.SpikingGRU), ("nn.GRU", nn.GRU)):
        torch.manual_seed(args.seed)
        if name == "nn.GRU":
            model = forecasting.Forecaster(layer(1, args.hidden_size, batch_first=True), args.horizon, last_steps=1)
        elif args.binary:
            model = forecasting.Forecaster(layer(1, args.hidden_size, batch_first=True), args.horizon,
                                           readout="leaky", readout_decay=0.8)
        else:  # the graded recipe (forecasting.graded)
            model = forecasting.graded(layer, args.hidden_size, args.horizon, threshold=args.threshold)
        t0 = time.perf_counter()
        forecasting.fit(model, train, epochs=epochs, seed=args.seed, **forecasting.GRADED_FIT)
        pred = forecasting.predict(model, test)
        results[name] = (model, pred)
        m = forecasting.metrics(pred, test)
        rate = f", {model.last_firing_rate:.3f} events per neuron per step" if model.spiking else ""
        print(f"{name:<11} test RMSE {m['rmse']:.4g} (naive {m['naive_rmse']:.4g}, ratio {m['rmse_over_naive']:.2f}), "
              f"sMAPE {m['smape']:.2f} %, trained in {time.perf_counter() - t0:.0f} s{rate}")
    r_s, r_d = (test.rmse(results[k][1]) for k in ("SpikingGRU", "nn.GRU"))
    print(f"spiking / dense RMSE: {r_s / r_d:.2f}")

    # The same spiking forecaster as a Loihi-style network: bit-accurate fixed point on the fast simulator.
    # The network computes the readout; the residual (adding the last input value) is the host's.
    from spikernn import converters

    model, pred = results["SpikingGRU"]
    net = converters.to_lava(model, precision="fixed", calibration_x=train.x)
    hw, _ = net.simulate(test.x, backend="fast")
    hw_pred = torch.as_tensor(hw).float() + test.x[:, -1, :1]
    print(f"fixed point on the simulated hardware: test RMSE {test.rmse(hw_pred):.4g} "
          f"(PyTorch float {r_s:.4g}); max |hardware - PyTorch| forecast {float((hw_pred - pred).abs().max()):.3g}")
    import importlib.util

    if importlib.util.find_spec("lava") is not None:  # the same network on real Lava processes: the same bits
        lava, _ = net.simulate(test.x[:4], backend="lava")
        same = bool((torch.as_tensor(lava) == torch.as_tensor(hw[:4])).all())
        print(f"Lava (fixed point, 4 test windows): {'identical to' if same else 'DIFFERENT from'} the fast simulator")


if __name__ == "__main__":
    main()
