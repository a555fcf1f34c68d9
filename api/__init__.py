"""attnmod's Python API, for people who already have a diffusers pipeline (see docs/api.md).

Every name here is re-exported by the top-level package, lazily: ``import attnmod`` loads no torch.

* :func:`parse`: prompt text -> :class:`PromptTree` (entities, attributes, nesting, token positions).
* :func:`modulate`: a context manager around your own ``pipe(...)`` call that runs the modulation and captures
  attention; the :class:`Session` it yields holds the :class:`AttentionRecord` per image and the trees.
* :func:`trace`: capture only (the images do not change), with per-word :class:`HeatMaps` at image size.
* :func:`score`: the typed scores of one record (leakage, binding, per phase).
* :func:`diagnose`: baseline against modulated for one prompt, the same diagnosis the ``attnmod diagnose``
  command writes, with ``save``, ``report`` and notebook display.
* :func:`probe`: which text positions the image depends on (each word, the padding, the pooled embedding, swaps),
  the same table ``attnmod probe`` prints, as a :class:`Probe` with ``table``, ``plot``, ``save``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .heat_maps import HeatMaps, WordHeatMap
from .session import Run, Session, modulate, trace

if TYPE_CHECKING:
    from ..toolkit.modulation.record import AttentionRecord
    from ..toolkit.prompt.tree import PromptTree
    from .diagnosis import Diagnosis
    from .probing import Probe
    from .scores import Scores

__all__ = [
    "HeatMaps",
    "Run",
    "Session",
    "WordHeatMap",
    "diagnose",
    "modulate",
    "parse",
    "probe",
    "score",
    "trace",
]


def parse(prompt: str, pipe=None, parser: str = "auto") -> PromptTree:
    """Parse ``prompt`` into a :class:`PromptTree` aligned to ``pipe``'s tokenizers (default: CLIP's).

    ``parser``: ``"auto"`` (benepar when a model is configured, else spaCy's dependency parse), ``"benepar"`` or
    ``"dependency"``. In a notebook the tree displays as a nested list.
    """
    from ..toolkit.prompt.parse import parse_prompt

    tokenizers = None
    if pipe is not None:
        tokenizers = [t for t in (getattr(pipe, "tokenizer", None), getattr(pipe, "tokenizer_2", None)) if t]
    return parse_prompt(prompt, tokenizers=tokenizers or None, parser=parser)


def score(record: AttentionRecord, tree: PromptTree | None = None, thresholds=None) -> Scores:
    """Score one :class:`AttentionRecord` against its prompt tree (default: the tree the record carries).

    Returns :class:`Scores`: entity leakage, attribute binding and misbinding per phase and overall, with the
    verdicts; the definitions are in docs/diagnosis.md. ``thresholds``: an ``attnmod.Thresholds`` or None.
    """
    from .scores import score_record

    return score_record(record, tree, thresholds)


def diagnose(
    pipe_or_model,
    prompt: str,
    variant: str = "full",
    seed: int = 0,
    steps: int | None = None,
    guidance: float = 5.0,
    height: int | None = None,
    width: int | None = None,
    out=None,
    **options,
) -> Diagnosis:
    """Diagnose ``prompt`` on your pipeline: generate without modulation and with ``variant`` (same seed), score
    both, judge them and compare; the same diagnosis ``attnmod diagnose`` writes.

    ``pipe_or_model``: a diffusers pipeline (see :func:`modulate` for the supported ones), a
    ``LoadedModel`` or a model name such as ``"shapes"``. ``steps``/``height``/``width`` default to 25 steps at 64
    px for the shapes model (its pipeline too), 4 steps at 128 px for the random-weight toy models and 30 steps at
    the pipeline's native size otherwise. On a caption of the shapes world and a model trained on it, the judge's
    reading of both images leads the diagnosis (``Diagnosis.truth``); a prompt with words that model never saw
    gives a warning naming them. ``variant`` may be a
    :class:`ModulationConfig`. ``out``: the folder to write (default: a temporary one, removed with the object;
    :meth:`Diagnosis.save` copies it). ``options`` go to the workflow (``thresholds``, ``tree``, ``parser``,
    ``self_attention``, ``attribute``, ``progress``).
    """
    from .diagnosis import run

    return run(pipe_or_model, prompt, variant, seed, steps, guidance, height, width, out=out, **options)


def probe(
    pipe_or_model,
    prompt: str,
    seeds=(0, 1),
    edits="default",
    encoders="both",
    steps: int | None = None,
    guidance: float = 5.0,
    height: int | None = None,
    width: int | None = None,
    **options,
) -> Probe:
    """Which text positions ``prompt``'s image depends on: generate it on your pipeline unedited and with the text
    states edited (each word, the words outside the tree, all words, start, end, padding, SDXL's pooled embedding
    from the empty prompt; two words swapped), the same seeds each time, and rank the edits by how much the image
    changed (1.0 = as much as a new seed). The pipeline is not changed; the negative branch is never edited.

    ``pipe_or_model``: a diffusers text-to-image pipeline (SD 1.x/2.x or SDXL), a ``LoadedModel`` or a model name.
    ``edits``: names or a comma list (``"default"``, ``"words"``, ``"word:red"``, ``"padding"``, ``"pooled"``,
    ``"swaps"``, ``"swap:red:blue"``, ``"padding@2"``, ...); ``encoders``: ``"both"``, ``"1"``, ``"2"`` or a comma
    list. ``options`` go to the workflow (``judge``, ``tree``, ``parser``, ``batch_size``, ``progress``).
    Costs (edits + 1) x seeds generations. See docs/information_flow.md.
    """
    from .probing import run

    return run(pipe_or_model, prompt, seeds, edits, encoders, steps, guidance, height, width, **options)
