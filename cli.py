"""The ``attnmod`` command line: parse options, call one function of the Python API, print or write.

Heavy libraries (torch, diffusers, spaCy) are imported inside the commands so that ``attnmod --help``
answers at once. Exit codes: 0 success, 1 a user or input error (one line on stderr), 2 a usage error.
"""

from __future__ import annotations

import functools
import json
import os
import sys

import click

from . import __version__
from .toolkit.errors import AttnmodError

MODEL_HELP = (
    "tiny (embedded SDXL-shaped toy model, default), tiny-sd, sdxl-shaped, a local diffusers folder, "
    "a .safetensors checkpoint, or a hub id already in the local cache"
)


def user_errors(command):
    """Turn an AttnmodError into ``error: ...`` on stderr and exit code 1, with no traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except AttnmodError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

    return wrapper


def model_options(command):
    """--model, --device, --dtype and --allow-pickle, shared by every command that runs a model."""
    options = [
        click.option("--model", default="tiny", show_default=True, help=MODEL_HELP),
        click.option(
            "--device",
            default="auto",
            show_default=True,
            help="auto, cpu, cuda or cuda:N (auto: GPU if present)",
        ),
        click.option(
            "--dtype",
            type=click.Choice(["auto", "float32", "float16", "bfloat16"]),
            default="auto",
            show_default=True,
            help="auto: fp16/bf16 on GPU, fp32 on CPU",
        ),
        click.option(
            "--allow-pickle",
            is_flag=True,
            help="accept pickle checkpoints (.ckpt/.bin); they can run code when loaded, so only from trusted sources",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


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
    from .toolkit.models import describe_model, load_model

    description = describe_model(load_model(model, device=device, dtype=dtype, allow_pickle=allow_pickle))
    if as_json:
        emit_json(description)
        return
    for key in ("model", "family", "device", "dtype", "tokenizers"):
        click.echo(f"{key:<11} {description[key]}")
    click.echo(f"attention  {len(description['attention_modules'])} modules")
    for name in description["attention_modules"]:
        click.echo(f"  {name}")


def _not_yet(name: str) -> None:
    raise AttnmodError(f"`attnmod {name}` is not available in this version yet")


# ---- parse ----
@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@user_errors
def parse(args) -> None:
    """Parse prompts into nested entity-attribute trees aligned to the encoders' tokens."""
    _not_yet("parse")


# ---- generate ----
@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@user_errors
def generate(args) -> None:
    """Generate an image with phase-wise attention modulation (and capture attention)."""
    _not_yet("generate")


# ---- diagnose ----
@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@user_errors
def diagnose(args) -> None:
    """Diagnose a prompt: baseline vs modulated, leakage and binding scores, verdicts, report."""
    _not_yet("diagnose")


# ---- analyze ----
@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@user_errors
def analyze(args) -> None:
    """Recompute metrics and verdicts from a saved attention record, without the model."""
    _not_yet("analyze")


# ---- attribute ----
@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@user_errors
def attribute(args) -> None:
    """Attribute a leakage or binding score to prompt tokens with captum."""
    _not_yet("attribute")


# ---- ablate ----
@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@user_errors
def ablate(args) -> None:
    """Run prompt sets x seeds x variants as a resumable Lightning prediction run."""
    _not_yet("ablate")


# ---- report ----
@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@user_errors
def report(args) -> None:
    """Write the HTML/PDF failure-analysis report of an ablation run."""
    _not_yet("report")


# ---- evaluate ----
@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@user_errors
def evaluate(args) -> None:
    """Image-level scores of a run: CLIP score, FID, learned preference."""
    _not_yet("evaluate")
