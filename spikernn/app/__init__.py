"""The application layer: the ``spikernn`` command line and the pipelines it runs.

This subpackage is the one place under ``spikernn/`` that reaches the other parts of the distribution
(:mod:`spikernn.converters`, :mod:`spikernn.hardware`, :mod:`spikernn.energy`); the core modules
(``spikernn/*.py``) import none of them (``tests/test_app.py`` checks it). It imports them inside the
functions that need them, so ``spikernn --help`` and ``import spikernn.app`` stay fast.

Modules, one job each:

* :mod:`~spikernn.app.data` - data sets by name (``--data``) for the commands and the demo;
* :mod:`~spikernn.app.models` - the model factory (``--model lstm|gru|rnn``, ``--dense``);
* :mod:`~spikernn.app.records` - checkpoints, network files and their ``*.json`` training records;
* :mod:`~spikernn.app.simulation` - a converted network over a whole data split;
* :mod:`~spikernn.app.reports` - ``energy.compare`` on a data split, and its rows as plain dicts;
* :mod:`~spikernn.app.progress` - step-by-step progress (live in a terminal, one line per step in logs);
* :mod:`~spikernn.app.demo` - the main job, :func:`run_demo`, and its result;
* :mod:`~spikernn.app.cli` - the ``spikernn`` command (``python -m spikernn``).

>>> from spikernn.app import DemoConfig
>>> DemoConfig(quick=True).finalize().epochs
2
"""
from spikernn.app.demo import DemoConfig, DemoResult, ModelResult, run_demo

__all__ = ["DemoConfig", "DemoResult", "ModelResult", "run_demo"]
