"""Where things are, for tests in any folder of the tests tree: the repository root, its benchmarks and docs, and
the tests' own data; and how a test imports a benchmark script. Import as ``from places import ROOT`` (tests/ is on
the import path, as for planted.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
BENCHMARKS = ROOT / "benchmarks"
DOCS = ROOT / "docs"
DATA = TESTS / "data"


def load_benchmark(name: str) -> ModuleType:
    """``benchmarks/NAME.py`` (or the package ``benchmarks/NAME/``) imported as the module ``NAME``, once: later
    calls return the same module. It is registered in ``sys.modules`` before it runs, as dataclasses and the scripts'
    imports of each other (tune_full imports results) expect."""
    if name in sys.modules:
        return sys.modules[name]
    script, package = BENCHMARKS / f"{name}.py", BENCHMARKS / name
    if script.is_file():
        spec = importlib.util.spec_from_file_location(name, script)
    else:
        spec = importlib.util.spec_from_file_location(
            name, package / "__init__.py", submodule_search_locations=[str(package)]
        )
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
