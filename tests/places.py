"""Where things are, for tests in any folder of the tests tree: the repository root, its benchmarks and docs, and
the tests' own data. Import as ``from places import ROOT`` (tests/ is on the import path, as for planted.py)."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
BENCHMARKS = ROOT / "benchmarks"
DOCS = ROOT / "docs"
DATA = TESTS / "data"
