"""HTML and PDF rendering shared by the diagnosis and run reports.

One Jinja2 environment with autoescape on for every template: user text (prompts, words, error messages) is
always escaped, never marked safe. Figures travel as PNG bytes and are embedded as ``data:`` URIs, so a report is
one file with no external reference; its Content-Security-Policy forbids scripts and any network load.
The PDF comes from the same HTML through WeasyPrint, which applies the ``@media print`` rules of
``templates/report.css`` (a page break before each section, no figure or table row cut in half).
"""

from __future__ import annotations

import base64
import datetime
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import jinja2

from ..toolkit import run_files
from ..toolkit.errors import AttnmodError

TEMPLATES = Path(__file__).parent / "templates"
FORMATS = ("html", "pdf")
# Versions that reproduce a report: the model stack that made the numbers and the libraries that drew them.
VERSION_PACKAGES = (
    "attnmod",
    "torch",
    "diffusers",
    "transformers",
    "numpy",
    "matplotlib",
    "seaborn",
    "pandas",
    "jinja2",
    "weasyprint",
)


def data_uri(png: bytes, mime: str = "image/png") -> str:
    """``data:image/png;base64,...`` for embedding an image in the HTML itself."""
    return f"data:{mime};base64,{base64.b64encode(png).decode('ascii')}"


def format_number(value, digits: int = 3) -> str:
    """A table cell: ``n/a`` for missing or NaN (a score that is undefined, e.g. leakage without two entities),
    integers as they are, floats to ``digits`` significant decimals."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        if value != 0 and (abs(value) >= 1e5 or abs(value) < 10 ** (-digits)):
            return f"{value:.{digits}g}"
        return f"{value:.{digits}f}"
    return str(value)


def format_interval(interval, digits: int = 3) -> str:
    """``mean [low, high]`` from a dict with mean/low/high (or a 3-sequence); ``n/a`` when there is no mean."""
    if interval is None:
        return "n/a"
    if isinstance(interval, dict):
        mean, low, high = interval.get("mean"), interval.get("low"), interval.get("high")
    else:
        mean, low, high = interval
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "n/a"
    if low is None or high is None or (isinstance(low, float) and math.isnan(low)):
        return format_number(mean, digits)
    return f"{format_number(mean, digits)} [{format_number(low, digits)}, {format_number(high, digits)}]"


def pretty_json(data, width: int = 88, indent: int = 2, _level: int = 0) -> str:
    """JSON for reading: nested objects indented, but any list or object that fits in ``width`` characters on one
    line stays on one line (a config's curves and token lists would otherwise take a page each)."""
    flat = json.dumps(data, ensure_ascii=False, default=str)
    if len(flat) + indent * _level <= width or not isinstance(data, (dict, list)) or not data:
        return flat
    pad, inner = " " * (indent * _level), " " * (indent * (_level + 1))
    if isinstance(data, dict):
        items = [
            f"{inner}{json.dumps(str(key), ensure_ascii=False)}: {pretty_json(value, width, indent, _level + 1)}"
            for key, value in data.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    items = [f"{inner}{pretty_json(value, width, indent, _level + 1)}" for value in data]
    return "[\n" + ",\n".join(items) + "\n" + pad + "]"


def software_versions(extra: Iterable[str] = ()) -> dict[str, str]:
    """Installed versions of the packages that made and drew the results (``-`` where not installed)."""
    return run_files.software_versions((*VERSION_PACKAGES, *extra), python=True)


def _embed_file(name: str) -> str:
    """A file of the templates folder as text (the template marks it safe: it is ours, not user data)."""
    return (TEMPLATES / name).read_text(encoding="utf-8")


def environment() -> jinja2.Environment:
    """The report templates' environment: autoescape for every template, undefined names are errors."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["data_uri"] = data_uri
    env.filters["num"] = format_number
    env.filters["interval"] = format_interval
    env.filters["pretty_json"] = pretty_json
    env.globals["embed_file"] = _embed_file
    return env


def render(template: str, **context) -> str:
    """Render one report template to an HTML string."""
    context.setdefault("generated", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
    return environment().get_template(template).render(**context)


def parse_formats(formats: str | Sequence[str]) -> tuple[str, ...]:
    """``"html,pdf"`` or ``("html", "pdf")`` -> a tuple of known formats, in the given order, without repeats."""
    names = formats.split(",") if isinstance(formats, str) else list(formats)
    result: list[str] = []
    for name in names:
        name = name.strip().lower()
        if not name:
            continue
        if name not in FORMATS:
            raise AttnmodError(f"unknown report format {name!r}: choose from {', '.join(FORMATS)}")
        if name not in result:
            result.append(name)
    if not result:
        raise AttnmodError(f"no report format given: choose from {', '.join(FORMATS)}")
    return tuple(result)


def html_to_pdf(html: str, base_url: str | Path | None = None) -> bytes:
    """The PDF of a report's HTML (WeasyPrint, print media)."""
    import logging

    from PIL import ImageFile

    truncated = ImageFile.LOAD_TRUNCATED_IMAGES
    import weasyprint

    ImageFile.LOAD_TRUNCATED_IMAGES = truncated  # importing WeasyPrint turns PIL's lenience on for the whole process

    # WeasyPrint logs every CSS property it does not support (e.g. overflow-x) at warning level; a report
    # build should not print them.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    return weasyprint.HTML(string=html, base_url=str(base_url) if base_url else None).write_pdf()


def write_outputs(html: str, out_dir: Path, stem: str, formats: Sequence[str]) -> list[Path]:
    """Write ``{stem}.html`` and/or ``{stem}.pdf`` into ``out_dir``; return the paths in ``formats`` order."""
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise AttnmodError(f"cannot create the report folder {str(out_dir)!r} ({error.strerror})") from error
    paths = []
    for name in parse_formats(formats):
        path = out_dir / f"{stem}.{name}"
        data = html.encode("utf-8") if name == "html" else html_to_pdf(html, base_url=out_dir)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            run_files.write_atomic(path, data)
        except OSError as error:
            raise AttnmodError(f"cannot write {str(path)!r} ({error.strerror})") from error
        paths.append(path)
    return paths
