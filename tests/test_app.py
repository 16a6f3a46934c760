"""The core stays the bottom: no module of the core package (spikernn/*.py) imports converters, hardware or
energy, anywhere (also inside functions); only the application layer (spikernn/app/) does."""
import ast
from pathlib import Path

import spikernn

ROOT = Path(spikernn.__file__).parent
UPPER = ("spikernn.converters", "spikernn.hardware", "spikernn.energy")


def _imports(path: Path) -> set[str]:
    """Every module an ``import`` / ``from ... import`` in ``path`` names (``from spikernn import energy``
    counts as ``spikernn.energy``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def _reaches_up(names: set[str]) -> list[str]:
    return sorted(n for n in names if any(n == u or n.startswith(u + ".") for u in UPPER))


def test_core_modules_import_nothing_above_the_core():
    core = [p for p in ROOT.glob("*.py")]
    assert len(core) > 10
    offenders = {p.name: _reaches_up(_imports(p)) for p in core}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_application_layer_is_where_the_parts_meet():
    app = sorted((ROOT / "app").glob("*.py"))
    assert {p.stem for p in app} >= {"cli", "demo", "data", "models", "records", "reports", "simulation", "progress"}
    assert any(_reaches_up(_imports(p)) for p in app)  # the check above is not vacuous


def test_nothing_below_the_application_layer_imports_it():
    import spikernn.converters
    import spikernn.energy
    import spikernn.hardware

    app_names = ("spikernn.app", "spikernn.demo", "spikernn.cli")
    for pkg in (spikernn.converters, spikernn.hardware, spikernn.energy):
        for path in Path(pkg.__file__).parent.glob("*.py"):
            bad = sorted(n for n in _imports(path) if any(n == a or n.startswith(a + ".") for a in app_names))
            assert bad == [], f"{path.name} imports the application layer: {bad}"
