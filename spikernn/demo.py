"""Deprecated: the demo pipeline moved to :mod:`spikernn.app` (``from spikernn.app import run_demo``); this
module re-exports its public names so that ``from spikernn.demo import run_demo`` keeps working."""
import warnings

from spikernn.app.data import DATASETS, Dataset, load_dataset, synthetic_dataset  # noqa: F401
from spikernn.app.demo import DemoConfig, DemoResult, ModelResult, run_demo  # noqa: F401
from spikernn.app.models import MODEL_KINDS, build_model  # noqa: F401
from spikernn.app.reports import energy_report, energy_rows  # noqa: F401
from spikernn.app.simulation import merge_stats, net_input, simulate_dataset  # noqa: F401
from spikernn.datasets import SequenceData  # noqa: F401

warnings.warn("spikernn.demo moved to spikernn.app (from spikernn.app import run_demo; data sets in "
              "spikernn.app.data, simulation in spikernn.app.simulation)", DeprecationWarning, stacklevel=2)
