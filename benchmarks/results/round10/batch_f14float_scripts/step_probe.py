"""One interpreter step of the spiking RNN float units, captured from a real run, timed in parts (us per call,
min of repeats): the whole step (run_float T=1), the port inputs (recurrent column sums) and the adLIF kernel."""
import sys, os, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from setup_model import make
import numpy as np

name = sys.argv[1] if len(sys.argv) > 1 else "spiking_rnn"
prec = sys.argv[2] if len(sys.argv) > 2 else "float"
model, x, xn, net, plan, run = make(name, prec)
from spikernn.hardware.compiled import engine as EN, kernels as K
cap = {}
orig = EN._interpret
def spy(unit, st, t0, T, E, *rest):
    key = tuple(unit.names) if hasattr(unit, "names") else id(unit)
    if 40 <= t0 <= 56 and key not in cap:
        cap[key] = (unit, st, t0, T, E.copy(), [r.copy() if isinstance(r, np.ndarray) else r for r in rest],
                    [a.copy() for a in (st.ST, st.ACC, st.HIST)])
    return orig(unit, st, t0, T, E, *rest)
EN._interpret = spy
run(sys.argv[3] if len(sys.argv) > 3 else "auto")
EN._interpret = orig
def tmin(f, reps=200):
    best = 1e9
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(reps):
            f()
        best = min(best, (time.perf_counter() - t) / reps)
    return best * 1e6
for key, (unit, st, t0, T, E, rest, saved) in cap.items():
    X, MASKS, VREC, EVC, SOC, OUTS, OSC, Y = rest
    fn = K.run_fixed if unit.fixed else K.run_float
    args = (t0, 1, unit.POP, unit.BLK, unit.W, unit.W8, unit.P, st.ST, st.ACC, st.TMP, st.T32, st.IDX, st.HIST,
            E, X, MASKS[:1], VREC[:1], EVC, SOC, unit.FAN, OUTS, OSC, Y)
    whole = tmin(lambda: fn(*args))
    j = unit.POP.shape[0] - 1
    pin = tmin(lambda: K._port_inputs(j, t0, 0, unit.POP, unit.BLK, unit.W, unit.W8, st.ACC, st.TMP, st.T32, st.IDX, st.HIST, E))
    kern = getattr(K, {K.ADLIF: "_adlif", K.LIF: "_lif", K.SLSTM: "_slstm", K.SGRU: "_sgru", K.SDGRU: "_sdgru",
                       K.SDLSTM: "_sdlstm", K.SDRNN: "_sdrnn"}[int(unit.POP[j, K.K_KIND])] + ("_fixed" if unit.fixed else "_float"))
    OUT = st.HIST[t0 % st.HIST.shape[0]]
    ks = tmin(lambda: kern(j, unit.POP, unit.P, st.ST, st.ACC, OUT, MASKS[0]))
    B, n = st.ST.shape[0], int(unit.POP[j, K.K_N])
    rate = float(np.mean(st.HIST[(t0 - 1) % st.HIST.shape[0]] != 0))
    print(f"{key}: step {whole:.1f} us, port inputs {pin:.1f} us, kernel {kern.__name__} {ks:.1f} us "
          f"({ks * 1e3 / (B * n):.2f} ns/neuron), B={B} n={n} rate {rate:.3f}; load {os.getloadavg()[0]:.2f}")
