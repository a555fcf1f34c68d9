"""``run_ablation``: prompt sources x seeds x variants as one resumable Lightning prediction run.

Lightning does the distribution: ``devices``/``accelerator``/``num_nodes``/``strategy`` go to its ``Trainer``
unchanged, and every rank gets its share of the pending items from Lightning's distributed sampler. With
``strategy="ddp"`` Lightning starts the other local ranks by running the same command line again, so a
multi-process run must be started from the ``attnmod`` command or a script file (not ``python -c`` or a notebook).
For several machines, start the same command on each with Lightning's environment variables (``MASTER_ADDR``,
``MASTER_PORT``, ``NODE_RANK``, ``WORLD_SIZE``) or under SLURM/TorchElastic, which Lightning detects; the run
folder must be on storage that all machines share.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..toolkit.errors import AttnmodError
from ..toolkit.interrupt import Interrupted, StopOnSignal
from ..toolkit.output_folder import (
    RUN_KIND,
    RunLock,
    check_folder_kind,
    check_output_folder,
    is_global_rank_zero,
    prepare_output_folder,
    remove_if_empty,
)
from ..toolkit.run_files import MODEL_PACKAGES, RUN_FILE, resolve_generation_settings, software_versions
from ..toolkit.threads import apply_thread_policy, resolve_thread_policy
from .validation import check_generation_settings, parse_devices, parse_variants

if TYPE_CHECKING:
    from .module import GenerationSettings

# torch and Lightning load inside the functions below: the checks must answer before those imports.

# --precision values (Lightning's names accepted too) -> the pipeline dtype.
PRECISIONS = {
    "auto": "auto",
    "32": "float32",
    "32-true": "float32",
    "16": "float16",
    "16-true": "float16",
    "16-mixed": "float16",
    "bf16": "bfloat16",
    "bf16-true": "bfloat16",
    "bf16-mixed": "bfloat16",
}


# Lightning warnings that do not apply to a generation run: an empty rank (all its items were complete), data
# loader workers (items are a few strings; generation is the cost), and Lightning's own internal deprecation.
QUIET_WARNINGS = (
    r".*Total length of .*DataLoader.* across ranks is zero.*",
    r".*does not have many workers.*",
    r".*isinstance\(treespec, LeafSpec\).*is deprecated.*",
)


class _DropAdvertisement(logging.Filter):
    """Lightning prints a tip about a cloud logging product on every Trainer; a run's output has no use for it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "litlogger" not in record.getMessage()


def _quiet_lightning_tips() -> None:
    logger = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    if not any(isinstance(f, _DropAdvertisement) for f in logger.filters):
        logger.addFilter(_DropAdvertisement())


@dataclasses.dataclass
class RunSummary:
    """What a finished run reports (on global rank 0)."""

    out: str
    items: int
    done: int
    skipped: int
    failed: int
    seconds: float
    world_size: int
    unreadable_lines: int = 0  # lines of results.jsonl / rank files that could not be read and were skipped
    first_error: str | None = None  # the error of the first failed item, for a run where every item failed
    notes: list[str] = dataclasses.field(default_factory=list)  # what the run repaired (a rebuilt run.json)
    input_problems: int = 0  # failed items whose source line cannot be generated (empty, not JSON): a rerun cannot help

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def _uses_gpu(accelerator: str) -> bool:
    import torch

    if accelerator in ("gpu", "cuda"):
        if not torch.cuda.is_available():
            raise AttnmodError(f"--accelerator {accelerator} asked for, but no CUDA GPU is available: use cpu")
        return True
    if accelerator == "auto":
        return torch.cuda.is_available()
    if accelerator == "cpu":
        return False
    raise AttnmodError(f"unsupported accelerator {accelerator!r}: use cpu, gpu or auto")


def resolve_precision(precision: str, gpu: bool) -> str:
    """The pipeline dtype: ``auto`` is bf16 (or fp16 where bf16 is unsupported) on GPU and fp32 on CPU.

    The dtype is applied to the pipeline when it is built, not through Lightning's precision plugins: a
    diffusers pipeline runs in the dtype of its weights, and autocast around it would change nothing but speed.
    """
    if precision not in PRECISIONS:
        raise AttnmodError(f"unknown precision {precision!r}: use auto, 32, 16 or bf16")
    dtype = PRECISIONS[precision]
    if not gpu:
        if dtype not in ("auto", "float32"):
            raise AttnmodError(f"--precision {precision} needs a GPU; runs on the CPU stay in fp32 (use 32 or auto)")
        return "float32"
    if dtype == "auto":
        import torch

        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    return dtype


def _variant_configs(variants: Sequence[str]) -> dict:
    from ..toolkit.modulation.config import ModulationConfig

    return {name: ModulationConfig.from_variant(name) for name in parse_variants(variants)}


def _config_json(config) -> dict:
    return config.to_json() if hasattr(config, "to_json") else dict(config)


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _device_info(trainer) -> dict:
    import torch

    info = {
        "accelerator": type(trainer.accelerator).__name__,
        "strategy": type(trainer.strategy).__name__,
        "world_size": trainer.world_size,
        "num_nodes": trainer.num_nodes,
        "devices_per_node": trainer.num_devices,
        "host": platform.node(),
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "gpus": [],
    }
    if torch.cuda.is_available():
        info["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return info


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _write_run_file(out: Path, run_info: dict, status: str, start_clock: float, counts: dict | None, **extra) -> None:
    from ..toolkit.run_files import write_json_atomic

    write_json_atomic(
        out / RUN_FILE,
        {
            **run_info,
            "status": status,
            "finished": _now(),
            "seconds": round(time.perf_counter() - start_clock, 3),
            "counts": counts,
            **extra,
        },
    )


def check_resume_settings(out: Path, settings: GenerationSettings) -> str | None:
    """Refuse to add to a run folder made with other generation settings; returns a note for the user when
    run.json is missing or damaged in a folder that holds items (it is then rebuilt, once the items' own settings
    are checked: :func:`check_item_settings`), else None.

    Item ids leave the settings out on purpose, so that a run can grow by seeds, variants and prompts; items made
    with other steps, sizes or dtypes would then sit beside the old ones as if comparable.
    """
    out = Path(out)
    path = out / RUN_FILE
    previous = None
    if path.is_file():
        try:
            previous = json.loads(path.read_text(encoding="utf-8")).get("settings")
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
            previous = None
        if not isinstance(previous, dict):
            previous = None
    if previous is None:
        checked = check_item_settings(out, settings)
        if not checked:
            return None
        state = "damaged" if path.exists() else "missing"
        return (
            f"{RUN_FILE} was {state}: rebuilt from this command's settings, which the {checked} item(s) on disk "
            "were made with"
        )
    differing = {
        key: (previous[key], value)
        for key, value in settings.to_json().items()
        if key in previous and previous[key] != value
    }
    if differing:
        listed = ", ".join(f"{key} {old!r} -> {new!r}" for key, (old, new) in differing.items())
        raise AttnmodError(
            f"{str(out)!r} holds a run made with other settings ({listed}); resume it with the same settings "
            "or choose another --out"
        )
    check_item_settings(out, settings)
    return None


#: What an item's config.json records of the settings a run shares (GenerationSettings field names).
ITEM_SETTINGS = ("model", "steps", "guidance", "height", "width", "dtype")


def check_item_settings(out: Path, settings: GenerationSettings) -> int:
    """Refuse, with one line naming the first such item, when an item folder of ``out`` records (in its
    config.json) other settings than ``settings``: resuming would mix them. Returns the items checked.

    Settings not known yet (a size of None, resolved once the model is loaded) are not compared; item folders
    whose config.json cannot be read are left to the resume scan, which redoes them.
    """
    from ..toolkit.run_files import CONFIG_FILE, ITEMS_FOLDER, TEMP_PREFIX

    wanted = {key: value for key, value in settings.to_json().items() if key in ITEM_SETTINGS and value is not None}
    checked = 0
    for path in sorted((Path(out) / ITEMS_FOLDER).glob(f"*/{CONFIG_FILE}")):
        if path.parent.name.startswith(TEMP_PREFIX):
            continue
        try:
            recorded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        if not isinstance(recorded, dict):
            continue
        differing = {k: (recorded[k], v) for k, v in wanted.items() if k in recorded and recorded[k] != v}
        if differing:
            listed = ", ".join(f"{key} {old!r} -> {new!r}" for key, (old, new) in differing.items())
            raise AttnmodError(
                f"{str(out)!r} holds item {path.parent.name} made with other settings ({listed}); resume with the "
                "settings of the items there or choose another --out"
            )
        checked += 1
    return checked


@dataclasses.dataclass(frozen=True)
class AblationSpec:
    """What one ``attnmod ablate`` run makes, where and how: the parameters of :func:`run_ablation`, checked.

    ``configs``: variant name -> ModulationConfig; ``steps``/``height``/``width`` None: the model's defaults.
    """

    sources: tuple[str, ...]
    out: Path
    configs: dict
    seeds: tuple[int, ...]
    model: str = "tiny"
    devices: int | str = 1
    accelerator: str = "auto"
    num_nodes: int = 1
    strategy: str = "auto"
    batch_size: int = 1
    limit: int | None = None
    categories: tuple[str, ...] | None = None
    steps: int | None = None
    guidance: float = 5.0
    height: int | None = None
    width: int | None = None
    precision: str = "auto"
    parser: str = "auto"
    allow_pickle: bool = False
    progress: bool = True


@dataclasses.dataclass(frozen=True)
class _Replaced:
    """The real pieces a test replaces (see :func:`run_ablation`); None: the real one."""

    model_loader: Callable | None = None
    predict_fn: Callable | None = None
    save_fn: Callable | None = None


def _vocabulary_note(model: str, items) -> str | None:
    """One line when a model trained on the shapes world gets prompts with words it never saw (None otherwise)."""
    from ..toolkit.models.shapes import trained_on_world
    from ..toolkit.shapes_world import out_of_vocabulary

    if not trained_on_world(model):
        return None
    prompts = list(dict.fromkeys(item.prompt for item in items if isinstance(item.prompt, str)))
    unknown = {prompt: out_of_vocabulary(prompt) for prompt in prompts}
    outside = [prompt for prompt, words in unknown.items() if words]
    if not outside:
        return None
    words = list(dict.fromkeys(word for prompt in outside for word in unknown[prompt]))
    shown = ", ".join(repr(word) for word in words[:8]) + (f" and {len(words) - 8} more" if len(words) > 8 else "")
    return (
        f"{len(outside)} of {len(prompts)} prompts have words outside the shapes model's vocabulary ({shown}); it "
        "knows only the shapes world's shapes, colours, sizes and relations: for other prompts use real SDXL weights, "
        "--model PATH_OR_HUB_ID"
    )


def run_ablation(
    sources: Sequence[str],
    out: str | Path,
    variants: Sequence[str] = ("none", "full"),
    seeds: Sequence[int] = (0,),
    model: str = "shapes",
    devices: int | str = 1,
    accelerator: str = "auto",
    num_nodes: int = 1,
    strategy: str = "auto",
    batch_size: int = 1,
    limit: int | None = None,
    categories: Sequence[str] | None = None,
    steps: int | None = None,
    guidance: float = 5.0,
    height: int | None = None,
    width: int | None = None,
    precision: str = "auto",
    parser: str = "auto",
    allow_pickle: bool = False,
    progress: bool = True,
    *,
    configs: dict | None = None,
    model_loader: Callable | None = None,
    predict_fn: Callable | None = None,
    save_fn: Callable | None = None,
) -> RunSummary | None:
    """Generate, capture and score every item; write ``out`` (see ``writer``); skip items already complete.

    ``steps``/``height``/``width`` default to 4 and 128x128 on the toy models, else 30 steps at the pipeline's
    native size.

    Returns the summary on global rank 0 and ``None`` on the other ranks. ``configs`` (variant name ->
    ModulationConfig), ``model_loader(device) -> model``, ``predict_fn`` and ``save_fn`` replace the real
    pieces in tests.
    """
    started, start_clock = _now(), time.perf_counter()
    out = Path(out)
    # Everything that can be checked without the model is checked first, before the slow imports.
    check_generation_settings(model, steps, height, width, guidance)
    devices = parse_devices(devices)
    seeds = list(seeds)
    if not seeds:
        raise AttnmodError("no seed given: use e.g. --seeds 0-3")
    if configs is None:
        configs = _variant_configs(variants)
    if batch_size < 1:
        raise AttnmodError(f"--batch-size must be at least 1, not {batch_size}")
    coordinator = is_global_rank_zero()
    if coordinator:
        check_output_folder(out)  # writable or creatable; nothing is created until every check has passed
    # Sources, devices and precision too, before the run folder is created: a typo must leave nothing behind.
    from .data import expand_items, item_problem, load_sources

    items = expand_items(load_sources(sources, limit=limit, categories=categories), seeds, list(configs))
    problems = [problem for problem in map(item_problem, items) if problem]
    if items and len(problems) == len(items):
        raise AttnmodError(f"no item can be generated: all {len(items)} have a problem (first: {problems[0]})")
    resolve_precision(precision, _uses_gpu(accelerator))
    created = coordinator and not out.exists()
    if coordinator:
        check_folder_kind(out, RUN_KIND)
        prepare_output_folder(out)
    elif out.exists() and not out.is_dir():
        raise AttnmodError(f"--out {str(out)!r} is a file, not a folder")
    # One run per folder: rank 0 holds the lock until the run ends (the other ranks of the same run do not take it).
    lock = RunLock(out, "`attnmod ablate` run") if coordinator else None
    if lock is not None:
        lock.acquire()
    succeeded = False
    try:
        spec = AblationSpec(
            sources=tuple(sources),
            out=out,
            configs=configs,
            seeds=tuple(seeds),
            model=model,
            devices=devices,
            accelerator=accelerator,
            num_nodes=num_nodes,
            strategy=strategy,
            batch_size=batch_size,
            limit=limit,
            categories=tuple(categories) if categories else None,
            steps=steps,
            guidance=guidance,
            height=height,
            width=width,
            precision=precision,
            parser=parser,
            allow_pickle=allow_pickle,
            progress=progress,
        )
        replaced = _Replaced(model_loader=model_loader, predict_fn=predict_fn, save_fn=save_fn)
        summary = _run_locked(spec, items, replaced, started, start_clock)
        succeeded = True
        return summary
    except Interrupted:
        succeeded = True  # stopped on request: what it wrote is a consistent, resumable run
        raise
    finally:
        if lock is not None:
            lock.release()
        if created and not succeeded:
            remove_unused_run_folder(out)


def remove_unused_run_folder(out: Path) -> None:
    """After a run that failed before it wrote any item (a model that cannot load, a pickle refused), remove what
    it made, so that the folder it created does not look like a run: its run.json, results files and empty items
    folder, then the folder itself if nothing else is in it."""
    from ..toolkit.run_files import ITEMS_FOLDER, RESULTS_FILE

    items_folder = out / ITEMS_FOLDER
    if items_folder.is_dir() and any(not p.name.startswith(".") for p in items_folder.iterdir()):
        return
    for name in (RUN_FILE, RESULTS_FILE):
        (out / name).unlink(missing_ok=True)
    for path in out.glob("results-rank*.jsonl"):
        path.unlink(missing_ok=True)
    for folder in (items_folder, out):
        remove_if_empty(folder)


def _run_locked(
    spec: AblationSpec, items: list, replaced: _Replaced, started: str, start_clock: float
) -> RunSummary | None:
    from .data import AblationDataModule, item_problem
    from .module import AblationModule, GenerationSettings
    from .writer import RUN_FORMAT, AblationWriter, StopAtItemBoundary, merge_results

    out, configs = spec.out, spec.configs
    # From the name alone: the native size of a model that is not embedded is known once it is loaded.
    known = resolve_generation_settings(spec.model, spec.steps, spec.height, spec.width)
    gpu = _uses_gpu(spec.accelerator)
    settings = GenerationSettings(
        model=spec.model,
        steps=known["steps"],
        guidance=float(spec.guidance),
        height=known["height"],
        width=known["width"],
        dtype=resolve_precision(spec.precision, gpu),
        parser=spec.parser,
    )
    resume_note = check_resume_settings(out, settings)

    import lightning.pytorch as pl
    from lightning.fabric.utilities.exceptions import MisconfigurationException

    _quiet_lightning_tips()
    writer = AblationWriter(out, save_fn=replaced.save_fn)
    try:
        trainer = pl.Trainer(
            accelerator=spec.accelerator,
            devices=spec.devices,
            num_nodes=spec.num_nodes,
            strategy=spec.strategy,
            logger=False,
            enable_checkpointing=False,
            enable_model_summary=False,
            enable_progress_bar=spec.progress,
            callbacks=[writer],
        )
    except (MisconfigurationException, ValueError, RuntimeError) as error:
        raise AttnmodError(f"Lightning cannot set up these devices: {error}") from error
    # Before Lightning starts the other ranks: they inherit OMP_NUM_THREADS from here, and Lightning then
    # leaves every rank's thread count to this policy (cores of this process / processes on this machine).
    threads = apply_thread_policy(
        resolve_thread_policy(local_ranks=max(1, getattr(trainer.strategy, "num_processes", 1) or 1)),
        cpu_float32=not gpu,
    )

    run_info = {
        "format": RUN_FORMAT,
        "command": list(sys.argv),
        "sources": list(spec.sources),
        "categories": list(spec.categories) if spec.categories else None,
        "limit": spec.limit,
        "variants": {name: _config_json(config) for name, config in configs.items()},
        "seeds": list(spec.seeds),
        "settings": settings.to_json(),
        "batch_size": spec.batch_size,
        "trainer": {
            "accelerator": spec.accelerator,
            "devices": spec.devices,
            "num_nodes": spec.num_nodes,
            "strategy": spec.strategy,
        },
        "device": _device_info(trainer),
        "threads": threads,
        "versions": software_versions((*MODEL_PACKAGES, "lightning"), python=True, missing=None),
        "started": started,
    }
    writer.run_info = run_info
    writer.items = items
    data = AblationDataModule(items, out, batch_size=spec.batch_size)
    module = AblationModule(
        settings,
        configs,
        allow_pickle=spec.allow_pickle,
        model_loader=replaced.model_loader,
        predict_fn=replaced.predict_fn,
    )
    with StopOnSignal("the current item") as stop:
        trainer.callbacks.append(StopAtItemBoundary(stop))  # after the writer: the current item is written first
        try:
            with warnings.catch_warnings():
                for noise in QUIET_WARNINGS:
                    warnings.filterwarnings("ignore", message=noise)
                trainer.predict(module, datamodule=data, return_predictions=False)
        except Interrupted:
            if trainer.is_global_zero and data.scan is not None:
                counts = merge_results(out, items, data.scan.complete, interrupted=True)
                _write_run_file(out, run_info, "interrupted", start_clock, counts)
                raise Interrupted(
                    stop.signal,
                    f"interrupted by {stop.signal_name()}: {counts['done'] + counts['skipped']} of {counts['items']} "
                    f"items complete, {counts['pending']} not started; run the same command to go on",
                ) from None
            raise
        except BaseException as error:
            if trainer.is_global_zero and (out / RUN_FILE).is_file():
                # run.json said "running": say what became of the run instead.
                _write_run_file(out, run_info, "failed", start_clock, None, error=f"{type(error).__name__}: {error}")
            raise

        # Every rank's rows must be on disk before rank 0 reads them.
        trainer.strategy.barrier()
        if not trainer.is_global_zero:
            return None
        details: dict = {}
        counts = merge_results(out, items, data.scan.complete, details)
        seconds = time.perf_counter() - start_clock
        first_error, unreadable = details["first_error"], details["unreadable_lines"]
        _write_run_file(out, run_info, "finished", start_clock, counts, unreadable_lines=unreadable)
    return RunSummary(
        out=str(out),
        items=counts["items"],
        done=counts["done"],
        skipped=counts["skipped"],
        failed=counts["failed"],
        seconds=seconds,
        world_size=trainer.world_size,
        unreadable_lines=unreadable,
        first_error=first_error,
        notes=[note for note in (resume_note, _vocabulary_note(spec.model, items)) if note],
        input_problems=sum(1 for item in items if item_problem(item)),
    )
