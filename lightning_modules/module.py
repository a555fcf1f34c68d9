"""The prediction step of an ablation run: generate with capture, score, return results (writing is elsewhere).

``predict_items`` is the plain function (testable without Lightning); ``AblationModule`` builds the pipeline
once per process in ``setup`` and calls it from ``predict_step``. A failing item never stops the run: its
result has ``status == "failed"`` and the error text.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import lightning.pytorch as pl

from ..toolkit.run_files import clean_numbers
from .data import WorkItem, item_problem

if TYPE_CHECKING:
    from ..analysis.scores import RecordScores


@dataclasses.dataclass(frozen=True)
class GenerationSettings:
    """What every item of a run shares. Part of run.json; a resumed run must use the same settings."""

    model: str = "tiny"
    steps: int = 4
    guidance: float = 5.0
    height: int | None = 128  # None: the pipeline's native size, resolved once the model is loaded
    width: int | None = 128
    dtype: str = "float32"
    parser: str = "auto"

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class ItemResult:
    """What ``predict_step`` returns per item: the generation (image, record, tree, config) and its scores."""

    item: WorkItem
    status: str  # "done" or "failed"
    seconds: float = 0.0
    error: str | None = None
    generation: object | None = None  # attnmod.toolkit.generation.GenerationResult
    scores: RecordScores | None = None  # analysis.scoring.score_record(...)
    summary: dict | None = None  # analysis.scoring.summary_metrics(...): flat numbers for a results row
    warnings: list[str] = dataclasses.field(default_factory=list)


def _error_text(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def predict_items(
    model,
    items: Sequence[WorkItem],
    settings: GenerationSettings,
    configs: dict,
    generate_fn: Callable | None = None,
    score_fn: Callable | None = None,
    parse_fn: Callable | None = None,
) -> list[ItemResult]:
    """Generate and score a batch of items, one result per item in the input order.

    Items are grouped by variant (one modulation config per ``generate`` call); each item has its own seeded
    generator inside ``generate``, so a result does not depend on which items share its batch. When a group's
    call fails, its items are retried one by one so that only the item at fault is marked failed.
    ``generate_fn(model, prompts, config, seeds, trees) -> list[GenerationResult]``,
    ``score_fn(record, tree) -> (RecordScores, summary)`` and ``parse_fn(model, prompt) -> PromptTree`` default to the
    toolkit and analysis functions; tests pass fakes.
    """
    generate_fn = generate_fn or default_generate(settings)
    score_fn = score_fn or default_score()
    parse_fn = parse_fn or default_parse(settings)
    results: dict[int, ItemResult] = {}
    groups: dict[str, list[tuple[int, WorkItem, object]]] = {}
    for position, item in enumerate(items):
        problem = item_problem(item)
        if problem is not None:
            results[position] = ItemResult(item, "failed", error=problem)
            continue
        start = time.perf_counter()
        try:
            tree = parse_fn(model, item.prompt)
        except Exception as error:  # noqa: BLE001 - any failure of one item is recorded, the run goes on
            results[position] = ItemResult(
                item, "failed", seconds=time.perf_counter() - start, error=f"parse: {_error_text(error)}"
            )
            continue
        groups.setdefault(item.variant, []).append((position, item, tree))

    for variant, members in groups.items():
        config = configs[variant]
        start = time.perf_counter()
        try:
            generations = generate_fn(
                model, [m[1].prompt for m in members], config, [m[1].seed for m in members], [m[2] for m in members]
            )
            per_item = (time.perf_counter() - start) / len(members)
            outcomes = [
                (member, generation, per_item, None) for member, generation in zip(members, generations, strict=True)
            ]
        except Exception as error:  # noqa: BLE001 - retry alone to find the item at fault
            if len(members) == 1:
                outcomes = [(members[0], None, time.perf_counter() - start, error)]
            else:
                outcomes = [_generate_alone(generate_fn, model, config, member) for member in members]
        for (position, item, _tree), generation, seconds, error in outcomes:
            if error is not None:
                results[position] = ItemResult(item, "failed", seconds=seconds, error=f"generate: {_error_text(error)}")
                continue
            start = time.perf_counter()
            try:
                scores, summary = score_fn(generation.record, generation.tree)
            except Exception as error:  # noqa: BLE001
                results[position] = ItemResult(
                    item, "failed", seconds=seconds + time.perf_counter() - start, error=f"score: {_error_text(error)}"
                )
                continue
            results[position] = ItemResult(
                item,
                "done",
                seconds=seconds + time.perf_counter() - start,
                generation=generation,
                scores=scores,
                summary=clean_numbers(summary),
                warnings=list(getattr(generation, "warnings", []) or []),
            )
    return [results[position] for position in range(len(items))]


def _generate_alone(generate_fn: Callable, model, config, member: tuple) -> tuple:
    _position, item, tree = member
    start = time.perf_counter()
    try:
        (generation,) = generate_fn(model, [item.prompt], config, [item.seed], [tree])
    except Exception as error:  # noqa: BLE001 - this item's own failure
        return member, None, time.perf_counter() - start, error
    return member, generation, time.perf_counter() - start, None


def default_generate(settings: GenerationSettings) -> Callable:
    from ..toolkit.generation import generate
    from ..toolkit.run_files import resolve_generation_settings

    def run(model, prompts, config, seeds, trees):
        return generate(
            model,
            prompts,
            config,
            seeds=seeds,
            guidance=settings.guidance,
            **resolve_generation_settings(model, settings.steps, settings.height, settings.width),
            capture=True,
            trees=trees,
        )

    return run


def default_parse(settings: GenerationSettings) -> Callable:
    from ..toolkit.prompt.parse import parse_prompt

    def run(model, prompt):
        return parse_prompt(prompt, tokenizers=model.tokenizers, parser=settings.parser)

    return run


def default_score() -> Callable:
    from ..analysis.scoring import score_record, summary_metrics

    def run(record, tree):
        if record is None:
            raise RuntimeError("generation returned no attention record (capture is needed for the metrics)")
        scores = score_record(record, tree)
        return scores, summary_metrics(scores)

    return run


class AblationModule(pl.LightningModule):
    """Holds the pipeline (built in ``setup``, once per process, on this rank's device) and runs ``predict_items``.

    The pipeline is a plain attribute, not a registered submodule: Lightning neither moves nor wraps it, and
    the module itself stays cheap to construct in the launching process.
    """

    def __init__(
        self,
        settings: GenerationSettings,
        configs: dict,
        allow_pickle: bool = False,
        model_loader: Callable | None = None,
        predict_fn: Callable | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.configs = dict(configs)
        self.allow_pickle = allow_pickle
        self.model_loader = model_loader
        self.predict_fn = predict_fn
        self.loaded = None

    def setup(self, stage: str) -> None:
        if self.loaded is not None:
            return
        if self.predict_fn is None:
            # Imported here, once, so that a broken installation stops the run instead of failing every item.
            self.predict_fn = functools.partial(
                predict_items,
                generate_fn=default_generate(self.settings),
                score_fn=default_score(),
                parse_fn=default_parse(self.settings),
            )
        device = str(self.trainer.strategy.root_device) if self._trainer is not None else "cpu"
        if self.model_loader is not None:
            self.loaded = self.model_loader(device)
            return
        from ..toolkit.models.loading import load_model

        self.loaded = load_model(
            self.settings.model, device=device, dtype=self.settings.dtype, allow_pickle=self.allow_pickle
        )
        if self.settings.height is not None and self.settings.width is not None:
            from ..toolkit.generation import check_size

            # A size the model cannot take would fail every item; stop before the first one instead.
            check_size(self.loaded, self.settings.height, self.settings.width)

    def predict_step(self, batch: list[WorkItem], batch_idx: int = 0) -> list[ItemResult]:
        return self.predict_fn(self.loaded, batch, self.settings, self.configs)
