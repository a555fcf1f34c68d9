"""``python benchmarks/score_validity ...``: the benchmark's command line (see the package docstring)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from score_validity import main  # noqa: E402

sys.exit(main())
