"""Measurement: windows, medians, idle subtraction, fallbacks, and clean "unavailable" results when RAPL,
NVML or codecarbon cannot measure (monkeypatched where the machine has them)."""
import os
import sys
import time
import types

import pytest

from spikernn.energy.codecarbon_meter import CodecarbonMeter
from spikernn.energy.measurement import measure, measuring
from spikernn.energy.meters import MeterReading, MeterUnavailable
from spikernn.energy.nvml import NvmlMeter
from spikernn.energy.rapl import RaplMeter, find_zones, rapl_available
from spikernn.energy.result import EnergyFigure



@pytest.fixture(autouse=True)
def quiet_machine(request, monkeypatch):
    """This shared machine's real load must not decide tests about something else: windows are judged
    undisturbed, except in tests of the rule itself (named ``..._disturbed_...``)."""
    if "disturbed" not in request.node.name:
        monkeypatch.setattr("spikernn.energy.load.judge", lambda *a, **k: (False, ""))

class PowerMeter:
    """A fake counter: ``watts`` while the window is open; the idle window reads ``idle_watts``."""

    method, kind, caveat, device, supports_idle = "fake-counter", "measured", "fake", "fake", True

    def __init__(self, watts=10.0):
        self.watts = watts
        self.opened = self.closed = 0

    def open(self):
        self.opened += 1

    def start(self):
        self.t0 = time.perf_counter()

    def stop(self):
        dt = time.perf_counter() - self.t0
        return MeterReading(joules=self.watts * dt, seconds=dt, components={"chip": self.watts * dt})

    def close(self):
        self.closed += 1


class BrokenMeter(PowerMeter):
    method = "broken"

    def open(self):
        raise MeterUnavailable("no such instrument")


def busy(seconds=0.002):
    t = time.perf_counter()
    while time.perf_counter() - t < seconds:
        pass


def test_measure_per_inference_and_median():
    m = PowerMeter(watts=10.0)
    f = measure(busy, inferences_per_call=4, repeats=3, min_window_s=0.05, idle_s=0, meters=[m])
    assert f.kind == "measured" and f.method == "fake-counter" and f.available
    assert f.repeats == 3 and len(f.samples_j) == 3
    assert f.iterations % 4 == 0 and f.iterations >= 4
    # windows are filled: calls x >= 2 ms each >= 50 ms (less a calibration margin on a loaded machine)
    assert f.seconds_per_inference * f.iterations >= 0.02
    # 10 W for >= 2 ms per call of 4 inferences -> >= 5 mJ per inference, and J = W x s per window
    assert f.joules_per_inference == pytest.approx(10.0 * f.seconds_per_inference, rel=0.05)
    assert f.joules_per_inference >= 10.0 * 0.002 / 4 * 0.99
    assert min(f.samples_j) <= f.joules_per_inference <= max(f.samples_j)
    assert f.spread_j == pytest.approx((max(f.samples_j) - min(f.samples_j)) / 2)
    assert m.closed == 1


def test_idle_power_subtracted_for_dynamic():
    class IdleAware(PowerMeter):
        # 3 W while sleeping in the idle window, 10 W while working
        def stop(self):
            r = super().stop()
            w = 3.0 if self.idle else 10.0
            return MeterReading(w * r.seconds, r.seconds)

        def start(self):
            self.idle = getattr(self, "n", 0) == 0
            self.n = getattr(self, "n", 0) + 1
            super().start()

    f = measure(busy, repeats=2, min_window_s=0.03, idle_s=0.02, warmup=0, meters=[IdleAware()])
    assert f.idle_watts == pytest.approx(3.0)
    assert f.dynamic_joules_per_inference == pytest.approx(f.joules_per_inference * 7.0 / 10.0, rel=1e-6)


def test_fallback_to_next_meter_and_all_unavailable():
    f = measure(busy, repeats=1, min_window_s=0.01, idle_s=0, meters=[BrokenMeter(), PowerMeter()])
    assert f.method == "fake-counter"
    g = measure(busy, repeats=1, min_window_s=0.01, meters=[BrokenMeter()])
    assert not g.available and g.joules_per_inference is None and "no such instrument" in g.unavailable_reason
    assert g.kind == "estimated"


def test_errors_of_the_measured_function_propagate():
    def bad():
        raise ZeroDivisionError("user bug")

    with pytest.raises(ZeroDivisionError):
        measure(bad, meters=[PowerMeter()], min_window_s=0.01)


def test_empty_batch_is_a_clear_error():
    with pytest.raises(ValueError, match="empty batch"):
        measure(busy, inferences_per_call=0, meters=[PowerMeter()])
    with pytest.raises(ValueError, match="device"):
        measure(busy, device="tpu")


def test_measuring_block():
    with measuring("cpu", inferences=5, meters=[PowerMeter(watts=2.0)]) as m:
        busy(0.01)
    f = m.figure
    assert f.repeats == 1 and f.iterations == 5
    assert f.joules_per_inference >= 2.0 * 0.01 / 5 * 0.99  # >= 10 ms at 2 W over 5 inferences
    assert f.joules_per_inference == pytest.approx(2.0 * f.seconds_per_inference, rel=0.3)
    with measuring("cpu", meters=[BrokenMeter()]) as m2:
        busy(0.001)
    assert not m2.figure.available


def test_figure_roundtrip_and_kind_check():
    f = measure(busy, repeats=2, min_window_s=0.01, idle_s=0, meters=[PowerMeter()])
    assert EnergyFigure.from_dict(f.to_dict()) == f
    with pytest.raises(ValueError, match="kind"):
        EnergyFigure(kind="guessed", method="x", caveat="", joules_per_inference=1.0, seconds_per_inference=1.0)


# -- RAPL ------------------------------------------------------------------------------------------------
def make_rapl(root, pkg_uj=1_000_000, dram_uj=500, rng=2**32):
    for zone, name, val in (("intel-rapl:0", "package-0", pkg_uj), ("intel-rapl:0:0", "core", 7),
                            ("intel-rapl:0:1", "dram", dram_uj)):
        d = root / zone
        d.mkdir(parents=True, exist_ok=True)
        (d / "name").write_text(name + "\n")
        (d / "energy_uj").write_text(f"{val}\n")
        (d / "max_energy_range_uj").write_text(f"{rng}\n")


def test_rapl_missing_is_unavailable(tmp_path):
    ok, why = rapl_available(tmp_path / "nope")
    assert not ok and "nope" in why
    f = measure(busy, meters=[RaplMeter(tmp_path / "nope")], min_window_s=0.01)
    assert not f.available and "RAPL" in f.unavailable_reason


def test_rapl_reads_package_plus_dram_and_wraps(tmp_path):
    make_rapl(tmp_path, pkg_uj=2**32 - 1_000_000, dram_uj=100)
    m = RaplMeter(tmp_path)
    m.open()
    assert [z.name for z in m.zones] == ["package-0", "dram"]  # "core" is inside the package: not summed
    m.start()
    (tmp_path / "intel-rapl:0" / "energy_uj").write_text("2000000\n")  # wrapped: +3 J
    (tmp_path / "intel-rapl:0:1" / "energy_uj").write_text("500100\n")  # +0.5 J
    r = m.stop()
    assert r.components == pytest.approx({"package-0": 3.0, "dram": 0.5})
    assert r.joules == pytest.approx(3.5)


def test_rapl_unreadable_counter(tmp_path, monkeypatch):
    make_rapl(tmp_path)
    from spikernn.energy import rapl

    def deny(self):
        raise PermissionError("denied")

    monkeypatch.setattr(rapl.RaplZone, "read_uj", deny)
    with pytest.raises(MeterUnavailable, match="root only"):
        find_zones(tmp_path)


# -- NVML ------------------------------------------------------------------------------------------------
def fake_pynvml(energy_mj, fail_init=False, not_supported=False):
    mod = types.ModuleType("pynvml")

    class NVMLError(Exception):
        pass

    mod.NVMLError = NVMLError
    state = {"e": energy_mj, "shutdown": 0}

    def init():
        if fail_init:
            raise NVMLError("NVML Shared Library Not Found")

    def energy(h):
        if not_supported:
            raise NVMLError("Not Supported")
        state["e"] += 250  # 250 mJ between reads
        return state["e"]

    mod.nvmlInit = init
    mod.nvmlShutdown = lambda: state.__setitem__("shutdown", state["shutdown"] + 1)
    mod.nvmlDeviceGetHandleByIndex = lambda i: ("h", i)
    mod.nvmlDeviceGetHandleByUUID = lambda u: ("u", u)
    mod.nvmlDeviceGetName = lambda h: b"Fake GPU"
    mod.nvmlDeviceGetTotalEnergyConsumption = energy
    return mod, state


def test_nvml_counter_in_millijoules(monkeypatch):
    mod, state = fake_pynvml(10_000)
    monkeypatch.setitem(sys.modules, "pynvml", mod)
    f = measure(busy, device="cuda", repeats=2, min_window_s=0.0, idle_s=0, meters=[NvmlMeter(0)],
                sync=lambda: None)  # min_window_s=0: one call per window
    assert f.kind == "measured" and f.method == "nvml-energy-counter" and "Fake GPU" in f.device
    # each window: one read at start and one at stop, 250 mJ apart -> 0.25 J per window
    assert f.iterations == 1 and f.samples_j == pytest.approx((0.25, 0.25))
    assert "WARNING" in f.caveat  # windows under a second are flagged for a 100 ms counter
    assert state["shutdown"] >= 1


def test_nvml_failures_are_unavailable(monkeypatch):
    mod, _ = fake_pynvml(0, fail_init=True)
    monkeypatch.setitem(sys.modules, "pynvml", mod)
    f = measure(busy, device="cuda:0", meters=[NvmlMeter(0)], sync=lambda: None, min_window_s=0.01)
    assert not f.available and "NVML init failed" in f.unavailable_reason
    mod, _ = fake_pynvml(0, not_supported=True)
    monkeypatch.setitem(sys.modules, "pynvml", mod)
    f = measure(busy, device="cuda:0", meters=[NvmlMeter(0)], sync=lambda: None, min_window_s=0.01)
    assert not f.available and "Volta" in f.unavailable_reason
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import fails
    f = measure(busy, device="cuda", sync=lambda: None, min_window_s=0.01)
    assert not f.available and "pynvml" in f.unavailable_reason


# -- codecarbon ------------------------------------------------------------------------------------------
def test_codecarbon_here_is_labelled_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    f = measure(busy, repeats=1, min_window_s=0.2, meters=[CodecarbonMeter()])
    assert f.available and f.method.startswith("codecarbon")
    if f.method in ("codecarbon-tdp-load", "codecarbon-constant-tdp"):
        assert f.kind == "estimated" and "ESTIMATED" in f.caveat
    assert f.kind == "estimated"  # RAM is always a codecarbon estimate, so CPU+RAM is too
    assert set(f.components_j) == {"cpu", "ram"}
    assert os.listdir(tmp_path) == []  # no emissions.csv, no output directory


def test_codecarbon_failures_are_unavailable(monkeypatch):
    import codecarbon

    monkeypatch.setitem(sys.modules, "codecarbon", None)
    f = measure(busy, meters=[CodecarbonMeter()], min_window_s=0.01)
    assert not f.available and "codecarbon cannot be imported" in f.unavailable_reason
    monkeypatch.setitem(sys.modules, "codecarbon", codecarbon)

    class Tracker:
        def __init__(self, **kw):
            self._active_task = None

        def start_task(self, name):
            self._active_task = name

        def stop_task(self, name):
            return None  # what codecarbon does when it lost its task

        def stop(self):
            raise RuntimeError("boom inside codecarbon")

    monkeypatch.setattr(codecarbon, "OfflineEmissionsTracker", Tracker)
    f = measure(busy, meters=[CodecarbonMeter()], min_window_s=0.01)
    assert not f.available and "no data" in f.unavailable_reason

    def explode(**kw):
        raise OSError("output dir vanished")

    monkeypatch.setattr(codecarbon, "OfflineEmissionsTracker", explode)
    f = measure(busy, meters=[CodecarbonMeter()], min_window_s=0.01)
    assert not f.available and "output dir vanished" in f.unavailable_reason


def test_default_cpu_path_without_rapl_is_estimated(monkeypatch, tmp_path):
    # No RAPL anywhere: the default CPU meters fall back to codecarbon, labelled as an estimate
    monkeypatch.setattr("spikernn.energy.rapl.POWERCAP_ROOT", tmp_path / "none")
    f = measure(busy, repeats=1, min_window_s=0.1)
    assert f.available and f.kind == "estimated" and f.method.startswith("codecarbon")


def test_invalid_readings_and_no_temp_dir(monkeypatch):
    class NanMeter(PowerMeter):
        def stop(self):
            return MeterReading(float("nan"), 0.1)

    f = measure(busy, meters=[NanMeter()], min_window_s=0.0, idle_s=0)
    assert not f.available and "invalid energy" in f.unavailable_reason

    def no_tmp(*a, **k):
        raise OSError("read-only file system")

    monkeypatch.setattr("tempfile.mkdtemp", no_tmp)
    f = measure(busy, meters=[CodecarbonMeter()], min_window_s=0.0)
    assert not f.available and "read-only" in f.unavailable_reason


# -- Zeus ------------------------------------------------------------------------------------------------
def fake_zeus(per_window_j=2.5, fail=False):
    """A stand-in for ``zeus.monitor`` (Zeus 0.16's ZeusMonitor begin_window/end_window API)."""
    zeus, monitor = types.ModuleType("zeus"), types.ModuleType("zeus.monitor")

    class Measurement:
        def __init__(self, t):
            self.time, self.total_energy, self.gpu_energy = t, per_window_j, {0: per_window_j}

    class ZeusMonitor:
        def __init__(self, gpu_indices=None):
            if fail:
                raise RuntimeError("no NVIDIA GPU")
            self.gpu_indices, self.open = gpu_indices, {}

        def begin_window(self, name):
            self.open[name] = time.perf_counter()

        def end_window(self, name):
            return Measurement(time.perf_counter() - self.open.pop(name))

    monitor.ZeusMonitor = ZeusMonitor
    zeus.monitor = monitor
    return zeus, monitor


def test_zeus_windows_and_failures(monkeypatch):
    from spikernn.energy.zeus_meter import ZeusMeter

    zeus, monitor = fake_zeus(2.5)
    monkeypatch.setitem(sys.modules, "zeus", zeus)
    monkeypatch.setitem(sys.modules, "zeus.monitor", monitor)
    f = measure(busy, device="cuda:0", repeats=2, min_window_s=0.0, idle_s=0, meters=[ZeusMeter(0)],
                sync=lambda: None, inferences_per_call=5)
    assert f.kind == "measured" and f.method == "zeus" and f.samples_j == pytest.approx((0.5, 0.5))
    assert f.components_j == pytest.approx({"gpu0": 0.5}) and f.basis == "total incl. idle"
    zeus, monitor = fake_zeus(fail=True)
    monkeypatch.setitem(sys.modules, "zeus.monitor", monitor)
    f = measure(busy, device="cuda", meters=[ZeusMeter(0)], sync=lambda: None, min_window_s=0.01)
    assert not f.available and "no NVIDIA GPU" in f.unavailable_reason
    monkeypatch.setitem(sys.modules, "zeus.monitor", None)
    f = measure(busy, device="cuda", meters=[ZeusMeter(0)], sync=lambda: None, min_window_s=0.01)
    assert not f.available and "pip install zeus" in f.unavailable_reason


# -- threads, CPU time, load ------------------------------------------------------------------------------
def test_threads_pinned_for_the_windows_and_restored():
    import torch

    seen = []
    old = torch.get_num_threads()
    f = measure(lambda: seen.append(torch.get_num_threads()), repeats=2, min_window_s=0.01, idle_s=0,
                meters=[PowerMeter()], threads=1, warmup=0)
    assert set(seen) == {1} and torch.get_num_threads() == old
    assert f.threads == 1 and "requested" in f.threads_note
    assert f.cpu_seconds_per_inference > 0 and len(f.cpu_seconds_samples) == f.repeats
    assert f.load["windows"] >= 2 and f.load["cores"] >= 1
    with pytest.raises(ValueError, match="threads"):
        measure(busy, meters=[PowerMeter()], threads=0)


def test_ram_is_a_separate_component():
    class CpuRam(PowerMeter):
        ram_kind = "estimated"

        def stop(self):
            dt = time.perf_counter() - self.t0
            return MeterReading(joules=13 * dt, seconds=dt, components={"cpu": 3 * dt, "ram": 10 * dt})

    f = measure(busy, repeats=2, min_window_s=0.02, idle_s=0, meters=[CpuRam()], threads=1)
    assert f.joules_per_inference == pytest.approx(3 * f.seconds_per_inference, rel=0.05)
    assert f.ram_joules_per_inference == pytest.approx(10 * f.seconds_per_inference, rel=0.05)
    assert f.ram_kind == "estimated" and set(f.components_j) == {"cpu", "ram"}


def test_disturbed_windows_are_remeasured_then_flagged(monkeypatch):
    """A fake /proc/stat: other processes keep 2 cores busy during every window of a 2-thread measurement
    on 2 cores -> oversubscribed: re-measured up to max_extra_windows, then flagged DISTURBED."""
    from spikernn.energy import load

    clock = {"busy": 0.0}

    def fake_busy(path=None):
        clock["busy"] += 1.0  # one more machine-busy second each read: a window of ~20 ms looks saturated
        return clock["busy"]

    monkeypatch.setattr(load, "machine_busy_seconds", fake_busy)
    monkeypatch.setattr(load, "usable_cores", lambda: 2)
    f = measure(busy, repeats=2, min_window_s=0.02, idle_s=0, meters=[PowerMeter()], threads=2,
                max_extra_windows=1)
    assert f.disturbed and "3 of 3 windows disturbed" in f.disturbed_reason and "DISTURBED" in f.caveat
    assert "oversubscribed" in f.load["reasons"][0]
    assert f.load["windows"] == 3 and f.load["disturbed_windows"] == 3  # 2 wanted + 1 re-measured


def test_disturbed_rule_and_thread_choice():
    from spikernn.energy.load import choose_threads, judge, machine_busy_seconds

    assert judge(1.0, 1.0, 0.9, cores=2, threads=1) == (False, "")
    assert judge(1.0, 1.0, 1.9, cores=2, threads=1)[0]        # others want both cores: oversubscribed
    assert judge(1.0, 0.5, 0.0, cores=2, threads=1)[0]        # single-threaded work got half a core
    assert judge(1.0, 1.8, 0.1, cores=2, threads=2) == (False, "")
    assert choose_threads("auto", available=2, others_cores=1.1, current=2)[0] == 1
    assert choose_threads("auto", available=2, others_cores=0.1, current=2)[0] == 2
    assert choose_threads(3, available=2)[0] == 3
    assert machine_busy_seconds("/nonexistent/stat") is None
    b = machine_busy_seconds()
    assert b is None or b > 0
