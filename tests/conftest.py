"""Rules of the test suite for the two environments CI builds from nothing (.ci/run):

* **core** (``make core-test``: ``pip install -e .`` without extras, numpy 2, no Lava): tests that need Lava
  skip, saying how to install it; ``SPIKERNN_TEST_ENV=core`` makes any *other* skip a failure, so a library
  that stops importing beside numpy 2 cannot hide behind a skip.
* **full** (``make test``: everything, Lava included): ``SPIKERNN_TEST_ENV=full`` makes every skip a failure,
  so a missing Lava (or anything else) fails the run instead of passing it with fewer tests.

Without ``SPIKERNN_TEST_ENV`` (a developer's own run) skips are ordinary skips.

A test needs Lava when it is marked ``@pytest.mark.lava`` or its module calls ``pytest.importorskip("lava")``.
"""
from __future__ import annotations

import importlib.util
import os

import pytest

LAVA_INSTALLED = importlib.util.find_spec("lava") is not None
TEST_ENV = os.environ.get("SPIKERNN_TEST_ENV", "")
if TEST_ENV not in ("", "core", "full"):
    raise pytest.UsageError(f"SPIKERNN_TEST_ENV must be 'core' or 'full', got {TEST_ENV!r}")
LAVA_SKIP = "needs Lava, which is not installed here"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if LAVA_INSTALLED:
        return
    from spikernn.hardware.lava_compat import INSTALL_HINT

    skip = pytest.mark.skip(reason=f"{LAVA_SKIP} ({INSTALL_HINT})")
    for item in items:
        if item.get_closest_marker("lava") is not None:
            item.add_marker(skip)


def _skip_reason(report: pytest.CollectReport | pytest.TestReport) -> str:
    lr = report.longrepr
    return str(lr[2]) if isinstance(lr, tuple) and len(lr) == 3 else str(lr)


def _is_lava_skip(reason: str) -> bool:
    return LAVA_SKIP in reason or "could not import 'lava'" in reason


def _enforce(report: pytest.CollectReport | pytest.TestReport) -> None:
    """Turn a skip the current environment does not allow into a failure that gives the skip's reason."""
    if not TEST_ENV or not report.skipped or hasattr(report, "wasxfail"):
        return
    reason = _skip_reason(report)
    if TEST_ENV == "core" and _is_lava_skip(reason) and not LAVA_INSTALLED:
        return
    allowed = "no test may skip" if TEST_ENV == "full" else "only tests that need Lava may skip"
    report.outcome = "failed"
    report.longrepr = f"skipped in the {TEST_ENV} environment (SPIKERNN_TEST_ENV={TEST_ENV}: {allowed}): {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    outcome = yield
    _enforce(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> object:
    outcome = yield
    _enforce(outcome.get_result())
