"""Do the attention scores predict what went wrong in the image? Scores against the shapes-world judge.

For every prompt of the shapes world's 2- and 3-object sets (seen and held-out combinations), every seed and the
variants ``none`` (baseline) and ``full``, this generates the image with attention captured, asks the judge
(:func:`attnmod.analysis.judge.image.judge_image`) what went wrong (a wrong colour, a missing object, merged objects),
scores the model's own attention maps with every definition (the original ones and the chance-corrected ones, over
a small grid of their settings) and measures how well each score and verdict predicts the judge's failures:

* AUROC with a 95% bootstrap interval (prompts resampled, so both seeds of a prompt move together) for
  wrong colour binding (unit: a colour attribute of an object the judge found), missing object (unit: an object)
  and merged objects (unit: an image; pair scores are maxima over the pairs, as the leakage headline is);
* the IoU between each entity's attention region (upsampled to the image) and the judge's mask of that object,
  against the IoU a random region of the same area would get on average, ``a b / (a + b - a b)`` for area shares
  ``a`` and ``b``;
* definitions are chosen on the ``/tune`` half of the prompts (the shapes world splits captions in two halves
  that never share a caption) and every number in the tables comes from the ``/test`` half.

Default run: 300 test-half and 160 tune-half prompts (spread over the 4 sets) x seeds 0, 1 x ``none``, ``full``:
1,840 images, about 1.1 s of CPU each on the shapes model. Each image is cached as ``OUT/items/ID.json`` (written
atomically), so a rerun resumes; ``--shard K/N`` makes every N-th prompt (run N processes at once) and ``--merge``
tabulates the cache without a model into ``OUT/items.jsonl`` and ``OUT/validity.json``, with ``--docs
docs/validity.md`` into that page (between its ``<!-- results -->`` markers) and with ``--validation
analysis/validation.json`` the measured validity of each shipped verdict, which analysis/verdicts.py and
reports/findings.py word their verdicts by.

    python benchmarks/score_validity --out runs/validity --shard 1/2 --threads 1 &
    python benchmarks/score_validity --out runs/validity --shard 2/2 --threads 1 &
    wait
    python benchmarks/score_validity --out runs/validity --merge --docs docs/validity.md \\
        --validation analysis/validation.json
    python benchmarks/score_validity --quick --out /tmp/validity-smoke        # tiny model, a few prompts
"""

import sys
from pathlib import Path

# benchmarks/ holds the helpers this benchmark shares with the others (_machine, results)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from .command import *  # noqa: F403
from .evaluation import *  # noqa: F403
from .generation import *  # noqa: F403
from .intervals import *  # noqa: F403
from .judge import *  # noqa: F403
from .predictors import *  # noqa: F403
from .scoring import *  # noqa: F403
from .settings import *  # noqa: F403
from .writing import *  # noqa: F403
