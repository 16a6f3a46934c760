"""Hostile inputs, signals and leaks (issue 12): prints

1. the bad-input table of ``tests/test_hostile_inputs.py`` (files, API calls, CLI commands) classified as
   clear (the expected exception type with the expected fragment, one line) / unclear (another error or
   message) / silent (no error) / hang (no answer within 20 s);
2. the resource bounds: every hostile file read in a fresh process under a memory limit (RLIMIT_DATA), and
   a 4 KB hostile model file's refusal time and memory;
3. with Lava: ``spikernn simulate --backend lava`` sent SIGTERM from outside 5 times (and SIGINT, SIGHUP
   once): surviving child processes and new /dev/shm entries each time;
4. with Lava: fd and thread counts of this process over 20 failing Lava runs (a process model that raises).

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_hostile_inputs.py [--signals N] [--runs N]``.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
os.environ.setdefault("OMP_NUM_THREADS", "1")

import test_hostile_inputs as hostile  # noqa: E402  (the table lives with its test)

HANG_S = 20


class _Hang(BaseException):
    pass


def classify_table(tmp: Path) -> dict[str, list[str]]:
    """Run every case of the table (SIGALRM after HANG_S seconds: "hang"); verdict -> case ids."""
    tmp.mkdir(parents=True, exist_ok=True)
    files = hostile.Files(tmp)
    out: dict[str, list[str]] = {"clear": [], "unclear": [], "silent": [], "hang": []}

    def alarm(signum, frame):
        raise _Hang()

    old = signal.signal(signal.SIGALRM, alarm)
    try:
        for case in hostile.CASES:
            signal.alarm(HANG_S)
            try:
                verdict, detail = hostile.run_case(case, files)
                if "_Hang" in detail:
                    verdict = "hang"
            except _Hang:
                verdict, detail = "hang", f"no answer within {HANG_S} s"
            finally:
                signal.alarm(0)
            out[verdict].append(case.id if verdict == "clear" else f"{case.id}: {detail[:160]}")
    finally:
        signal.signal(signal.SIGALRM, old)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--signals", type=int, default=5, help="SIGTERM repeats against the CLI (Lava)")
    ap.add_argument("--runs", type=int, default=20, help="failing Lava runs for the fd/thread counts")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-hostile-"))

    t0 = time.perf_counter()
    res = classify_table(tmp / "table")
    print(f"bad-input table: {len(hostile.CASES)} cases in {time.perf_counter() - t0:.1f} s: "
          + ", ".join(f"{k} {len(v)}" for k, v in res.items()))
    for k in ("unclear", "silent", "hang"):
        for line in res[k]:
            print(f"  {k}: {line}")

    (tmp / "res").mkdir()
    rc = hostile.resource_check(tmp / "res")
    cases = rc["cases"]
    worst_t, slow_id = max((v[1], k) for k, v in cases.items())
    worst_m, big_id = max((v[2], k) for k, v in cases.items())
    print(f"resource test: {len(cases)} hostile files under RLIMIT_DATA +{rc['limit_mb']} MB: "
          f"{sum(v[0] == 'clear' for v in cases.values())} refused clearly; slowest {worst_t:.3f} s ({slow_id}), "
          f"largest RSS growth {worst_m:.1f} MB ({big_id})")
    k4 = rc["4k"]
    print(f"4 KB hostile model file ({k4['bytes']} bytes, num_layers 10**7): {k4['verdict']} in "
          f"{k4['seconds'] * 1000:.1f} ms, peak RSS growth {k4['peak_growth_mb']:.1f} MB "
          f"(RSS growth {k4['rss_growth_mb']:.1f} MB)")

    try:
        import lava  # noqa: F401
    except ImportError:
        print("Lava is not installed: the SIGTERM and fd/thread figures need it (pip install 'spikernn[lava]')")
        return
    net_path = hostile.cli_network(tmp)
    for i in range(args.signals):
        r = hostile.cli_signal_run(tmp, signal.SIGTERM, net_path)
        print(f"SIGTERM #{i + 1}: exit {r['exit']}, {r['children']} children while running, "
              f"{len(r['survivors'])} surviving, {len(r['new_shm'])} of the run's {r['mapped_shm']} /dev/shm entries left, "
              f"ended in {r['seconds']:.2f} s")
    for sig in (signal.SIGINT, signal.SIGHUP):
        r = hostile.cli_signal_run(tmp, sig, net_path)
        print(f"{r['signal']}: exit {r['exit']}, {r['children']} children while running, "
              f"{len(r['survivors'])} surviving, {len(r['new_shm'])} of the run's {r['mapped_shm']} /dev/shm entries left, "
              f"ended in {r['seconds']:.2f} s")
    before = (len(os.listdir("/proc/self/fd")), threading.active_count())
    counts = hostile.failing_runs(args.runs)
    fds, ths = [c[0] for c in counts], [c[1] for c in counts]
    print(f"{args.runs} failing Lava runs in one process: fds before {before[0]}, after run 1 {fds[0]}, "
          f"after run {args.runs} {fds[-1]} (min {min(fds)}, max {max(fds)}); threads before {before[1]}, "
          f"after run 1 {ths[0]}, after run {args.runs} {ths[-1]} (max {max(ths)})")


if __name__ == "__main__":
    main()
