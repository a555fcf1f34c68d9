"""Shared fixtures: the embedded tiny pipelines are built once per test run.

No test downloads anything: the hub is switched off for the whole run.
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")

import pytest  # noqa: E402
from attnmod.toolkit.prompt.tree import PromptTree  # noqa: E402
from planted import CAT_DOG, MAN_HAT  # noqa: E402


@pytest.fixture(scope="session")
def tiny_model():
    """The embedded SDXL-shaped toy model (fp32, CPU). Treat as read-only: do not change its weights."""
    from attnmod.toolkit.models.loading import load_model

    return load_model("tiny", device="cpu", dtype="float32")


@pytest.fixture(scope="session")
def tiny_sd_model():
    """The embedded SD 1.x-shaped toy model (fp32, CPU)."""
    from attnmod.toolkit.models.loading import load_model

    return load_model("tiny-sd", device="cpu", dtype="float32")


@pytest.fixture(scope="session")
def clip_tokenizer():
    from attnmod.toolkit.prompt.tokenizer import build_clip_tokenizer

    return build_clip_tokenizer()


@pytest.fixture
def run_cli():
    """Run the `attnmod` click group in-process; returns click's Result (exit_code, stdout, stderr)."""
    from attnmod.cli import main
    from click.testing import CliRunner

    def invoke(*args: str, input: str | None = None):
        return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)

    return invoke


@pytest.fixture
def cat_dog_tree() -> PromptTree:
    return CAT_DOG


@pytest.fixture
def man_hat_tree() -> PromptTree:
    return MAN_HAT
