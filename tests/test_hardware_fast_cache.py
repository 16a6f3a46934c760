"""The fast backend's cache of compiled plans and packed streams (spikernn.hardware.fast.cache): reused while a
network is unchanged, never stale after any change (each run compared bit for bit with a fresh network's)."""
import copy
import gc
import threading
import warnings
import weakref

import numpy as np
import pytest
import torch

from spikernn.hardware import compiled
from spikernn.hardware.backends.base import check_input
from spikernn.hardware.fast import cache, plan as plan_mod, simulate_fast
from spikernn.hardware.fixed_point import quantize
from spikernn.hardware.network import Network, Population, SynapseBlock

I, H, O, T = 5, 12, 3, 30


def build(seed: int = 0) -> Network:
    """input -> recurrent LIF(H) -> readout(O), firing (float precision)."""
    rng = np.random.default_rng(seed)
    pops = [Population("x", "input", I),
            Population("h", "lif", H, {"decay": np.full(H, 0.9), "threshold": np.full(H, 0.5),
                                        "bias": rng.normal(0, 0.05, H)}, {"reset": "subtract"}),
            Population("ro", "readout", O, {"bias": np.zeros(O), "decay": np.full(O, 0.9)})]
    syn = [SynapseBlock("x>h", "x", "h", "in", rng.normal(0, 1.5 / np.sqrt(I), (H, I))),
           SynapseBlock("h>h", "h", "h", "in", rng.normal(0, 1 / np.sqrt(H), (H, H))),
           SynapseBlock("h>ro", "h", "ro", "in", rng.normal(0, 0.3, (O, H)))]
    return Network(pops, syn, "x", ["ro", "h"])


X = np.random.default_rng(1).normal(0.3, 1.0, (T, 4, I))


def fixed_net() -> Network:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return quantize(build(), calibration_x=X)[0]


NETS = {"float": build, "fixed": fixed_net}


def fresh(net: Network) -> Network:
    """An independent copy (no cache entry: the cache lives beside networks, not in them)."""
    return copy.deepcopy(net)


def same_stats(a, b) -> bool:
    eq = lambda u, v: u.keys() == v.keys() and all(np.array_equal(u[k], v[k]) for k in u)  # noqa: E731
    return a.total_events() == b.total_events() and eq(a.events, b.events) and eq(a.synaptic_ops, b.synaptic_ops)


def same_run(net: Network, x: np.ndarray) -> None:
    """net's (cached) run gives exactly the outputs and activity of a fresh copy's first run."""
    y, st = simulate_fast(net, x)
    y0, st0 = simulate_fast(fresh(net), x)
    assert np.array_equal(y, y0)
    assert same_stats(st, st0)


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def count_compiles(monkeypatch) -> list:
    calls = []
    orig = plan_mod.compile_network

    def counting(net):
        calls.append(1)
        return orig(net)

    monkeypatch.setattr(cache, "compile_network", counting)
    return calls


@pytest.mark.parametrize("precision", ["float", "fixed"])
@pytest.mark.parametrize("batch", [1, 4])
def test_a_second_run_reuses_the_compiled_plan_and_gives_the_same_bits(precision, batch, monkeypatch):
    net = NETS[precision]()
    calls = count_compiles(monkeypatch)
    x = X[:, :batch]
    y1, s1 = simulate_fast(net, x)
    y2, s2 = simulate_fast(net, x)
    y3, _ = simulate_fast(net, X[:, :batch] * 0.5)  # another input between: the stream was reset
    y4, s4 = simulate_fast(net, x)
    assert len(calls) == 1
    assert np.array_equal(y1, y2) and np.array_equal(y1, y4) and not np.array_equal(y1, y3)
    assert same_stats(s1, s2) and same_stats(s1, s4)
    with cache.caching(False):
        y5, _ = simulate_fast(net, x)
    assert len(calls) == 2 and np.array_equal(y1, y5)
    same_run(net, x)


def mutations():
    """(name, change(net)): every kind of change a user can make to a network."""
    def weight_in_place(n):
        w = n.synapses[1].weights
        w[2:6] = -w[2:6]

    def weight_replaced(n):
        s = n.synapses[1]
        s.weights = -s.weights

    def weight_view_base(n):  # written through the array the block's weights are a view of
        s = n.synapses[0]
        base = np.zeros((2,) + s.weights.shape, s.weights.dtype)
        base[1] = s.weights
        s.weights = base[1]
        simulate_fast(n, X[:, :1])  # cached with the view
        base[1, 2:9] *= -1

    def negative_zero(n):  # a bit that == does not see
        s = n.synapses[2]
        s.weights = np.where(s.weights == s.weights[0, 0], 0.0, s.weights)
        simulate_fast(n, X[:, :1])
        s.weights[s.weights == 0.0] = -0.0

    def param_in_place(n):
        p = n.population("h")
        key = "threshold" if n.precision == "float" else "vth"
        p.params[key][:4] = p.params[key][:4] * 2 + 1

    def param_replaced(n):
        p = n.population("h")
        key = "bias" if n.precision == "float" else "bias_mant"
        p.params[key] = p.params[key] + 1 if n.precision == "float" else -p.params[key]

    def param_added(n):  # a default made explicit with another value
        if n.precision == "float":
            n.population("h").params["adapt_scale"] = np.full(H, 0.3)
        else:
            n.population("ro").params["dv"] = n.population("ro").params["dv"] // 2

    def setting(n):
        n.population("h").attrs["reset"] = "zero"

    def outputs(n):
        n.outputs = ["ro"]

    def exponent(n):
        if n.precision == "fixed":
            n.synapses[1].weight_exp = n.synapses[1].weight_exp + 1
        else:
            n.synapses[1].weights *= 2

    def block_removed(n):
        del n.synapses[1]

    return [(f.__name__, f) for f in (weight_in_place, weight_replaced, weight_view_base, negative_zero,
                                       param_in_place, param_replaced, param_added, setting, outputs, exponent,
                                       block_removed)]


@pytest.mark.parametrize("precision", ["float", "fixed"])
@pytest.mark.parametrize("batch", [1, 4])
@pytest.mark.parametrize("name,change", mutations())
def test_any_change_to_the_network_is_seen_by_its_next_run(precision, batch, name, change):
    net = NETS[precision]()
    x = X[:, :batch]
    before, _ = simulate_fast(net, x)
    simulate_fast(net, x)  # cached
    change(net)
    same_run(net, x)
    if name != "negative_zero":
        assert not np.array_equal(simulate_fast(net, x)[0], before), "the change should change the output"


def test_a_weight_shared_with_a_torch_tensor_is_seen_when_the_tensor_changes():
    net = build()
    t = torch.from_numpy(net.synapses[1].weights.copy())
    net.synapses[1].weights = t.numpy()  # shares the tensor's memory
    y0, _ = simulate_fast(net, X[:, :1])
    with torch.no_grad():
        t.mul_(3.0)
    same_run(net, X[:, :1])
    assert not np.array_equal(simulate_fast(net, X[:, :1])[0], y0)


def test_changing_the_precision_in_place_recompiles():
    # integer weights and default parameters: valid in both precisions
    rng = np.random.default_rng(5)
    net = Network([Population("x", "input", I), Population("h", "lif", H), Population("ro", "readout", O)],
                  [SynapseBlock("x>h", "x", "h", "in", rng.integers(-60, 60, (H, I)).astype(float)),
                   SynapseBlock("h>h", "h", "h", "in", rng.integers(-30, 30, (H, H)).astype(float)),
                   SynapseBlock("h>ro", "h", "ro", "in", rng.integers(-9, 9, (O, H)).astype(float))],
                  "x", ["ro", "h"])
    x = X[:, :1] * 0.05
    simulate_fast(net, x)
    net.precision = "fixed"
    net.validate()
    same_run(net, x)
    net.precision = "float"
    same_run(net, x)


def test_an_invalid_change_raises_as_without_the_cache():
    net = build()
    simulate_fast(net, X[:, :1])
    net.synapses[1].weights[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        simulate_fast(net, X[:, :1])
    net.synapses[1].weights = np.zeros((H, H + 1))
    with pytest.raises(ValueError, match="weights shape"):
        simulate_fast(net, X[:, :4])


def test_signature_is_exact_and_refuses_what_it_cannot_freeze():
    net = build()
    sig = cache.signature(net)
    assert sig == cache.signature(fresh(net))
    net.population("h").attrs["reset"] = "subtract"  # the same value again
    assert cache.signature(net) == sig
    w = net.synapses[0].weights
    net.synapses[0].weights = np.asfortranarray(w)  # another layout, the same values: the same plan
    assert cache.signature(net) == sig
    net.synapses[0].weights = w.astype(np.float32).astype(np.float64)
    assert cache.signature(net) != sig
    net.synapses[0].weights = w
    net.population("h").size = float(H)  # 12 == 12.0, but not the same value
    assert cache.signature(net) != sig
    net.population("h").size = H
    net.population("h").attrs["odd"] = object()
    assert cache.signature(net) is None


def test_input_errors_stay_clear_on_a_cached_network():
    net = fixed_net()
    simulate_fast(net, X[:, :1])
    bad = X[:, :1].copy()
    bad[7, 0, 2] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        simulate_fast(net, bad)
    with pytest.raises(ValueError, match="feature size 4"):
        simulate_fast(net, X[:, :1, :4])
    with pytest.raises(ValueError, match=r"\(T, B, I\)"):
        simulate_fast(net, X[:, 0])
    with pytest.raises(TypeError, match="real numbers"):
        simulate_fast(net, X[:, :1].astype(object))
    with pytest.raises(ValueError, match="NaN or inf"):
        check_input(np.full((2, 1, I), np.inf), net)
    same_run(net, X[:, :1])  # the failed runs left nothing behind


def test_the_cache_does_not_keep_a_network_alive():
    net = build()
    simulate_fast(net, X[:, :1])
    simulate_fast(net, X[:, :4])
    assert len(cache._ENTRIES) == 1
    ref = weakref.ref(net)
    del net
    gc.collect()
    assert ref() is None and not cache._ENTRIES


def test_concurrent_batch1_runs_of_one_network_get_their_own_streams():
    net = fixed_net()
    xs = [X[:, i:i + 1] * (1 + 0.1 * i) for i in range(4)]
    want = [simulate_fast(fresh(net), x)[0] for x in xs]
    errors = []

    def work(k):
        try:
            for _ in range(15):
                y, _ = simulate_fast(net, xs[k])
                if not np.array_equal(y, want[k]):
                    errors.append(k)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    if compiled.available():
        idle = sum(len(v) for e in cache._ENTRIES.values() for v in e.streams.values())
        assert 1 <= idle <= cache.MAX_IDLE_STREAMS


def test_streams_and_record_values_use_the_cached_plan(monkeypatch):
    from spikernn.hardware.fast import record_values

    net = build()
    calls = count_compiles(monkeypatch)
    s = net.stream(batch=2)
    y_s = s.run(X[:, :2])
    y_r = record_values(net, X[:, :2])
    assert len(calls) == 1
    assert np.array_equal(y_s[:, :, :O], y_r["ro"])
