"""The Lava backend's public names in one place (kept for callers of earlier versions); the work is split by job:

* :mod:`spikernn.hardware.lava_supervision`: running a Lava graph and always stopping it (``run_processes``,
  ``LavaRunError``, ``live_children``);
* :mod:`spikernn.hardware.lava_graph`: a network stage as Lava processes (``lava_population_plan``);
* :mod:`spikernn.hardware.lava_backend`: the backend itself (``simulate_lava``, ``LavaBackend``);
* :mod:`spikernn.hardware.lava_smoke`: the doctor's smoke test (``smoke_test``).

Importing this module does not import Lava.
"""
from spikernn.hardware.lava_backend import LavaBackend, simulate_lava
from spikernn.hardware.lava_graph import lava_population_plan
from spikernn.hardware.lava_smoke import smoke_test
from spikernn.hardware.lava_supervision import LavaRunError, LavaTimeoutError, live_children, run_processes

__all__ = ["simulate_lava", "LavaBackend", "smoke_test", "run_processes", "LavaRunError", "LavaTimeoutError", "live_children",
           "lava_population_plan"]
