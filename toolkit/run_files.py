"""Run files: the names, writing and reading rules of every file attnmod writes and later commands read.

* File and folder names of a generation folder, an ablation run (``RUN/items/ID/``) and a diagnosis folder.
* :func:`write_atomic` / :func:`write_json_atomic` / :func:`write_safetensors_atomic`: the one way every command
  writes an output file (a temporary file beside it, flushed to disk and renamed over it; removed again when
  anything fails), so a reader never sees half a file and nothing is written through a planted symbolic link.
* :func:`software_versions`: the installed versions that reproduce a result.
* :func:`finite_or_none`, :func:`json_number`, :func:`clean_numbers`: JSON has no NaN; an undefined number is null.
* :func:`default_generation_settings` / :func:`resolve_generation_settings`: steps and size per model when the
  user gives none, decided in one place.
* ``read_jsonl`` is the one reader of ``results.jsonl`` (and of the per-rank files a running ablation appends to),
  shared by ``ablate`` (merge and resume), ``report`` and ``evaluate``, so that the three apply one policy: the
  file is read as bytes, and a line that is not UTF-8, not JSON, or not a JSON object (a line cut short by a killed
  process, a stray byte) is skipped and counted, never fatal. Each caller says how many lines it skipped.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import math
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .errors import AttnmodError

# ---- file and folder names ----

#: A generation folder (``attnmod generate``, each variant of a diagnosis, each item of a run).
IMAGE_FILE = "image.png"
PARSE_FILE = "parse.json"
CONFIG_FILE = "config.json"
ATTENTION_TENSOR_FILE = "attention.safetensors"
ATTENTION_METADATA_FILE = "attention.json"
#: An ablation run: ``RUN/run.json``, ``RUN/results.jsonl``, ``RUN/evaluation.json``, ``RUN/items/ID/``.
RUN_FILE = "run.json"
RESULTS_FILE = "results.jsonl"
EVALUATION_FILE = "evaluation.json"
#: FID statistics of a reference image folder, saved by ``attnmod evaluate`` for reuse.
REFERENCE_STATS_FILE = "fid_reference_stats.safetensors"
ITEMS_FOLDER = "items"
METRICS_FILE = "metrics.json"
#: How a results row that records no variant (a damaged or hand-edited row) is labelled: never as a variant.
NO_VARIANT = "(no variant recorded)"
#: Files an item folder must hold (non-empty) to count as complete; parse.json is optional.
ITEM_FILES = (IMAGE_FILE, ATTENTION_TENSOR_FILE, ATTENTION_METADATA_FILE, CONFIG_FILE, METRICS_FILE)
#: An item folder is written as ``items/.tmp-{id}-{pid}`` and renamed when complete.
TEMP_PREFIX = ".tmp-"
#: A diagnosis folder: ``diagnosis.json``, one generation folder per role, their images copied beside it.
DIAGNOSIS_FILE = "diagnosis.json"
ROLES = ("baseline", "modulated")


def role_image(role: str) -> str:
    """``baseline.png`` / ``modulated.png``: a diagnosis role's image, copied to the top of the folder."""
    return f"{role}.png"


def item_folder(run: str | Path, item_id: str) -> Path:
    """``RUN/items/ID``: where an ablation run keeps one item."""
    return Path(run) / ITEMS_FOLDER / str(item_id)


def run_item_folder(run: str | Path, item_id) -> Path:
    """``RUN/items/ID``, the one place ``evaluate`` and ``report`` read an item from, checked: ``ID`` must be a
    plain name and the folder must resolve inside ``RUN/items`` (a tampered id or ``folder`` field, or a planted
    link, never makes them read files elsewhere). Raises :class:`AttnmodError` saying why otherwise."""
    name = str(item_id)
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name:
        raise AttnmodError(f"item id {name!r} is not a plain name")
    items = Path(run) / ITEMS_FOLDER
    folder = items / name
    if folder.exists() and not folder.resolve().is_relative_to(items.resolve()):
        raise AttnmodError(f"{str(folder)!r} leads outside the run's {ITEMS_FOLDER}/ folder")
    return folder


# ---- writing ----


def write_atomic(path: str | Path, data: bytes | str, durable: bool = True) -> Path:
    """Replace ``path`` with ``data`` (text is written as UTF-8) so that readers see the old file or the new one,
    never half of one: a temporary file beside it is written, flushed to disk (``durable``) and renamed over it.

    The rename replaces the directory entry itself: a symbolic link planted at ``path`` is replaced by the new
    file, and whatever it pointed to is left untouched (nothing is ever written through a link). The temporary
    file is removed when anything fails (a full disk, an interrupt), and a failure to write is one
    :class:`AttnmodError` naming ``path``. The new file keeps the mode of the regular file it replaces, else the
    one the umask gives an ordinary new file.
    """
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    temporary = None
    try:
        # ".NAME.tmp-XXXX": hidden, and matched by the "*.tmp-*" clean-up of a run folder after a kill.
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.tmp-")
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(payload)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(temporary, _kept_mode(path))
        os.replace(temporary, path)
    except OSError as error:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
        from .output_folder import describe_os_error

        raise AttnmodError(f"cannot write {str(path)!r} ({describe_os_error(error)})") from error
    except BaseException:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
        raise
    return path


def _kept_mode(path: Path) -> int:
    # lstat: the mode of a link's target is no business of the file that replaces the link.
    try:
        status = os.lstat(path)
    except FileNotFoundError:
        return _new_file_mode()
    return status.st_mode & 0o777 if stat.S_ISREG(status.st_mode) else _new_file_mode()


def _new_file_mode() -> int:
    # mkstemp makes the file private (0600); an output file is an ordinary file, readable as the umask allows.
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def json_text(payload, indent: int | None = 1) -> str:
    """Strict JSON (no NaN or infinity: a ValueError names the problem) with non-ASCII text kept as it is."""
    return json.dumps(payload, indent=indent, ensure_ascii=False, allow_nan=False)


def write_json_atomic(path: str | Path, payload, indent: int | None = 1, durable: bool = True) -> Path:
    """:func:`write_atomic` of :func:`json_text`."""
    return write_atomic(path, json_text(payload, indent), durable=durable)


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of ``data`` in hex: the checksum recorded beside a tensor file when it is written."""
    import hashlib

    return hashlib.sha256(data).hexdigest()


def write_safetensors_atomic(path: str | Path, tensors: dict, metadata: dict[str, str] | None = None) -> str:
    """:func:`write_atomic` of ``tensors`` in the safetensors format; returns the file's SHA-256 (hex).

    The bytes are made in memory first (``safetensors.torch.save``), so a full disk or a bad tensor fails before
    the file exists, with one :class:`AttnmodError` naming it (safetensors' own errors are not ``OSError``).
    """
    from safetensors.torch import save

    try:
        payload = save(tensors, metadata=metadata)
    except Exception as error:  # noqa: BLE001 - safetensors raises its own error types
        raise AttnmodError(f"cannot write {str(path)!r} ({error})") from error
    write_atomic(path, payload)
    return sha256_hex(payload)


def append_line(path: str | Path, line: str, durable: bool = True) -> None:
    """Append ``line`` (a newline is added) to a JSON-lines file, forced to disk when ``durable``, so that a
    killed process loses at most the line being written. The file is opened without following a symbolic link
    (a planted link is an :class:`AttnmodError`, its target untouched)."""
    path = Path(path)
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(path, flags, 0o666)
        with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
    except OSError as error:
        from .output_folder import describe_os_error

        reason = "it is a symbolic link" if error.errno == errno.ELOOP else describe_os_error(error)
        raise AttnmodError(f"cannot write {str(path)!r} ({reason})") from error


def figure_png_bytes(figure) -> bytes:
    """A matplotlib figure saved as PNG, in memory (for :func:`write_atomic`)."""
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def png_bytes(image) -> bytes:
    """A PIL image encoded as PNG, in memory (for :func:`write_atomic`)."""
    import io

    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


# ---- settings files ----


def image_decode_problem(path: str | Path) -> str | None:
    """Why the image file at ``path`` does not decode whole (``"ExceptionType: message"``), or None when it does.

    Strict whatever another library set: PIL's process-wide ``ImageFile.LOAD_TRUNCATED_IMAGES`` (WeasyPrint, which
    writes the PDF reports, turns it on when imported) would let a cut-short PNG load as a partly grey image."""
    from PIL import Image, ImageFile

    saved = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with Image.open(path) as image:
            image.load()
    except Exception as error:  # noqa: BLE001 - PIL raises many types for a damaged file
        return f"{type(error).__name__}: {error}"
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = saved
    return None


def read_settings_file(path: str | Path, what: str):
    """The data of a ``.json``, ``.yaml`` or ``.yml`` settings file (a modulation config, thresholds), with one
    clear :class:`AttnmodError` naming ``what`` and the file when it cannot be read or parsed."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise AttnmodError(f"cannot read {what} {str(path)!r}: {error}") from error
    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            return json.loads(text)
        except ValueError as error:
            raise AttnmodError(f"{what} {str(path)!r} is not valid JSON: {error}") from error
    if suffix in (".yaml", ".yml"):
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise AttnmodError(f"{what} {str(path)!r} is not valid YAML: {describe_yaml_error(error)}") from error
    raise AttnmodError(f"{what} {str(path)!r}: use a .json, .yaml or .yml file")


def describe_yaml_error(error) -> str:
    """PyYAML's error on one line: ``PROBLEM at line L, column C (CONTEXT starting at line L, column C)``."""
    problem = getattr(error, "problem", None)
    mark = getattr(error, "problem_mark", None)
    if not problem:
        return " ".join(str(error).split())
    text = problem if mark is None else f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
    context, context_mark = getattr(error, "context", None), getattr(error, "context_mark", None)
    if context:
        where = f" starting at line {context_mark.line + 1}, column {context_mark.column + 1}" if context_mark else ""
        text += f" ({context.removeprefix('while ')}{where})"
    return text


# ---- software versions ----

#: The model stack that makes the numbers.
MODEL_PACKAGES = ("attnmod", "torch", "diffusers", "transformers")


def software_versions(
    packages: Iterable[str] = MODEL_PACKAGES, python: bool = False, missing: str | None = "-"
) -> dict[str, str | None]:
    """Installed versions of ``packages`` (``missing`` for a package that is not installed), preceded by the
    Python version when ``python``."""
    from importlib.metadata import PackageNotFoundError, version

    from .. import __version__

    found: dict[str, str | None] = {}
    if python:
        import platform

        found["python"] = platform.python_version()
    for name in packages:
        if name == "attnmod":
            found[name] = __version__  # the source tree in use, even when the installed metadata is older
            continue
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = missing
    return found


# ---- numbers in JSON ----


def finite_or_none(value):
    """``value``, or None where it is a NaN or infinite float (JSON has neither)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def json_number(value, digits: int = 6) -> float | None:
    """A score as written to JSON: a float rounded to ``digits`` decimals, None where undefined (NaN, inf)."""
    value = float(value)
    return None if not math.isfinite(value) else round(value, digits)


def clean_numbers(data):
    """A copy of nested dicts/lists with numpy/torch scalars turned into Python numbers and NaN/inf into None."""
    if isinstance(data, dict):
        return {str(k): clean_numbers(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [clean_numbers(v) for v in data]
    if hasattr(data, "item") and callable(data.item) and getattr(data, "ndim", 0) == 0:
        data = data.item()
    return finite_or_none(data)


# ---- default generation settings ----

#: Models built into the package (random weights): few steps at a small size.
EMBEDDED_TOY_MODELS = ("tiny", "tiny-sd")


def default_generation_settings(model) -> dict:
    """Steps and size when the user gives none: 4 steps at 128x128 for the toy models, else 30 steps at the
    pipeline's native size (``unet.config.sample_size x vae_scale_factor``: 1024 for SDXL, 512 for SD 1.5).

    ``model`` is a :class:`~attnmod.toolkit.models.loading.LoadedModel`, or a model name: then the native size of a model
    that is not embedded is None (known once the model is loaded).
    """
    name = model if isinstance(model, str) else model.name
    if name == "shapes":
        return {"steps": 25, "height": 64, "width": 64}
    if name in EMBEDDED_TOY_MODELS:
        return {"steps": 4, "height": 128, "width": 128}
    if isinstance(model, str):
        return {"steps": 30, "height": None, "width": None}
    pipe = model.pipeline
    side = int(pipe.unet.config.sample_size) * int(getattr(pipe, "vae_scale_factor", 8))
    return {"steps": 30, "height": side, "width": side}


def resolve_generation_settings(
    model, steps: int | None = None, height: int | None = None, width: int | None = None
) -> dict:
    """``{"steps", "height", "width"}``: the given values, the model's defaults where None (see
    :func:`default_generation_settings`)."""
    given = {"steps": steps, "height": height, "width": width}
    if all(value is not None for value in given.values()):
        return given
    defaults = default_generation_settings(model)
    return {key: value if value is not None else defaults[key] for key, value in given.items()}


@dataclasses.dataclass
class JsonlRows:
    """The readable rows of a JSON-lines file and what was skipped.

    ``skipped`` holds one ``(line number, reason)`` per unreadable line (1-based physical line numbers);
    ``lines`` every non-blank line in file order, as its row (the same object as in ``rows``) or, when it could
    not be read, its bytes, so that a rewrite can keep such lines verbatim (:meth:`rewritten`).
    """

    path: Path
    rows: list[dict]
    skipped: list[tuple[int, str]]
    lines: list[dict | bytes] = dataclasses.field(default_factory=list)

    def rewritten(self) -> bytes:
        """The file again with every readable row as (possibly updated) JSON and every unreadable line as it was."""
        return b"".join(
            (line if isinstance(line, bytes) else json.dumps(line, ensure_ascii=False).encode("utf-8")) + b"\n"
            for line in self.lines
        )

    def skipped_note(self) -> str | None:
        """One line for the user when lines were skipped (the first few line numbers), else None."""
        if not self.skipped:
            return None
        numbers = ", ".join(str(number) for number, _ in self.skipped[:5])
        more = f" and {len(self.skipped) - 5} more" if len(self.skipped) > 5 else ""
        first_reason = self.skipped[0][1]
        return (
            f"skipped {len(self.skipped)} unreadable line(s) of {self.path.name} (line {numbers}{more}; "
            f"first: {first_reason})"
        )


def read_jsonl(path: str | Path, require: str | None = "id") -> JsonlRows:
    """Rows of a JSON-lines file: each non-blank line a JSON object (holding key ``require``, when given).

    Lines that are not UTF-8, not JSON, not an object or lack ``require`` are skipped and listed in
    ``JsonlRows.skipped``; blank lines are ignored. A missing file reads as no rows; a file that cannot be read
    at all (permissions) is an :class:`AttnmodError`.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return JsonlRows(path, [], [])
    except OSError as error:
        raise AttnmodError(f"cannot read {str(path)!r} ({error.strerror or error})") from error
    rows: list[dict] = []
    skipped: list[tuple[int, str]] = []
    lines: list[dict | bytes] = []
    for number, line_bytes in enumerate(raw.split(b"\n"), start=1):
        if not line_bytes.strip():
            continue
        problem = _jsonl_problem(line_bytes, require)
        if isinstance(problem, str):
            skipped.append((number, problem))
            lines.append(line_bytes)
            continue
        rows.append(problem)
        lines.append(problem)
    return JsonlRows(path, rows, skipped, lines)


def _jsonl_problem(line_bytes: bytes, require: str | None) -> dict | str:
    """The row of one JSON line, or why it is unreadable."""
    try:
        line = line_bytes.decode("utf-8")
    except UnicodeDecodeError as error:
        return f"not UTF-8 at byte {error.start + 1}"
    try:
        row = json.loads(line)
    except json.JSONDecodeError as error:
        return f"not JSON ({error.msg})"
    if not isinstance(row, dict):
        return "not a JSON object"
    if require is not None and require not in row:
        return f"no {require!r} field"
    return row
