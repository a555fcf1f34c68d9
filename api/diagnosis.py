"""``diagnose``: the ``attnmod diagnose`` workflow on a pipeline, model or model name, as a :class:`Diagnosis`.

The workflow writes its folder (``diagnosis.json``, the two images, each variant's attention record); a
:class:`Diagnosis` holds that data (as the dict of the file and as the analysis' typed model of it,
:class:`~attnmod.analysis.schema.DiagnosisFile`), keeps the folder (a temporary one unless ``out`` is given) and copies it where
:meth:`Diagnosis.save` is asked to. The schema of ``diagnosis.json`` is in docs/diagnosis.md.
"""

from __future__ import annotations

import html
import inspect
import shutil
import tempfile
import warnings
import weakref
from pathlib import Path
from typing import TYPE_CHECKING

from ..toolkit import run_files
from ..toolkit.errors import AttnmodError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..analysis.schema import DiagnosisFile, VariantResult
    from ..toolkit.modulation.record import AttentionRecord
    from ..toolkit.prompt.tree import PromptTree
    from .scores import Scores

ROLES = ("baseline", "modulated")


class Diagnosis:
    """One prompt diagnosed: baseline (``none``) against a modulated variant, same seed and settings.

    ``data`` is the ``diagnosis.json`` dictionary and ``typed()`` the same as the analysis' typed model; ``folder``
    the folder the workflow wrote. ``headline`` is the first finding; ``verdicts`` all of them; ``scores[role]``
    and ``records[role]`` (role ``baseline`` or ``modulated``) the typed scores and attention records;
    ``images[role]`` the PIL images.
    """

    def __init__(self, data: dict, folder: str | Path, temporary: bool = False):
        from ..analysis.schema import DiagnosisFile

        self.data = data
        self._typed = DiagnosisFile.model_validate(data)
        self.folder = Path(folder)
        if temporary:
            self._cleanup = weakref.finalize(self, shutil.rmtree, str(self.folder), True)

    def _variant(self, role: str) -> VariantResult:
        return getattr(self._typed.variants, role)

    @property
    def prompt(self) -> str:
        return self._typed.prompt

    @property
    def variant(self) -> str:
        return self._typed.variants.modulated.variant

    @property
    def verdicts(self) -> list[str]:
        return list(self._typed.verdicts)

    @property
    def truth(self) -> dict | None:
        """What the shapes judge read in each image (``diagnosis.json``'s ``truth``: per image right or wrong, per
        named object present, missing, wrong colour, merged), or None when the judge does not apply."""
        return self.data.get("truth")

    @property
    def headline(self) -> str:
        """The first sentence: what the variant did by the judge where it applies, else the worst attention problem
        and whether the variant fixed it."""
        if self.truth and self.truth.get("comparison"):
            return self.truth["comparison"]
        head = self._findings()[1]
        return " ".join(part for part in (head.get("problem"), head.get("outcome")) if part)

    @property
    def findings(self) -> list[dict]:
        """Each problem once, worst first: ``{"severity", "text", "baseline", "modulated", "status"}`` with status
        fixed, new, improved, worse or no clear change (the report's cards)."""
        return [
            {
                "severity": item.severity_name,
                "text": item.text,
                "baseline": item.baseline,
                "modulated": item.modulated,
                "status": item.status,
            }
            for item in self._findings()[0]
        ]

    def _findings(self):
        """``(compared findings, headline dict)`` of the report (reports/findings.py)."""
        from ..reports import findings

        thresholds = self.data["thresholds"]
        noise = float(thresholds.get("noise", findings.NOISE_BAND))
        baseline, modulated = self._variant("baseline"), self._variant("modulated")
        compared = findings.compare_problems(baseline.scores, modulated.scores, thresholds, noise)
        return compared, findings.headline(compared, modulated.variant, noise)

    def typed(self) -> DiagnosisFile:
        """``diagnosis.json`` as the analysis' typed (pydantic) model."""
        return self._typed

    @property
    def tree(self) -> PromptTree:
        from ..toolkit.prompt.tree import PromptTree

        return PromptTree.from_json(self.data["tree"])

    @property
    def scores(self) -> dict[str, Scores]:
        from .scores import scores_from_json

        return {role: scores_from_json(self._variant(role).scores) for role in ROLES}

    @property
    def records(self) -> dict[str, AttentionRecord]:
        from ..toolkit.modulation.record import AttentionRecord

        return {role: AttentionRecord.load(self.folder / self._variant(role).record) for role in ROLES}

    @property
    def images(self) -> dict:
        from PIL import Image

        found = {}
        for role in ROLES:
            with Image.open(self.folder / getattr(self._typed.images, role)) as image:
                found[role] = image.convert("RGB")
        return found

    def save(self, folder: str | Path) -> Path:
        """Copy everything the workflow wrote into ``folder`` (created if needed); returns its ``diagnosis.json``."""
        target = Path(folder)
        if target.resolve() != self.folder.resolve():
            try:
                shutil.copytree(self.folder, target, dirs_exist_ok=True)
            except OSError as error:
                raise AttnmodError(f"cannot write the diagnosis to {str(target)!r}: {error}") from error
        return target / "diagnosis.json"

    def report(self, path: str | Path) -> Path:
        """Write the diagnosis report to ``path``: HTML for ``.html``, PDF for ``.pdf``. Returns ``path``."""
        from ..reports.diagnosis_report import write_diagnosis_report

        path = Path(path)
        kind = path.suffix.lower().lstrip(".")
        if kind not in ("html", "pdf"):
            raise AttnmodError(f"report path {str(path)!r}: use a .html or .pdf file name")
        written = write_diagnosis_report(self.folder, (kind,))[0]
        if written.resolve() != path.resolve():
            path.parent.mkdir(parents=True, exist_ok=True)
            run_files.write_atomic(path, written.read_bytes())
        return path

    def plot(self) -> Figure:
        """Baseline and modulated images, each with its entities' attention maps over it (one row per variant)."""
        from matplotlib.figure import Figure

        from .heat_maps import COLORMAP, _image_array, _normalised

        panels = self._entity_maps()
        columns = 1 + max((len(maps) for _, _, maps in panels), default=0)
        figure = Figure(figsize=(2.3 * columns, 2.5 * len(panels)), layout="constrained")
        axes = figure.subplots(len(panels), columns, squeeze=False)
        for row, (role, image, maps) in enumerate(panels):
            background = _image_array(image, (image.height, image.width))
            for axis in axes[row]:
                axis.set_axis_off()
            axes[row][0].imshow(background)
            axes[row][0].set_title(f"{role} ({self._variant(role).variant})", fontsize=10)
            for column, (label, values) in enumerate(maps, start=1):
                axes[row][column].imshow(background)
                axes[row][column].imshow(_normalised(values), cmap=COLORMAP, alpha=0.6)
                axes[row][column].set_title(label, fontsize=10)
        return figure

    def _entity_maps(self) -> list[tuple[str, object, list[tuple[str, object]]]]:
        """Per role: the image and, per entity of the tree, its word heat map (noun and attributes) at image size."""
        from .heat_maps import HeatMaps

        images, records, tree = self.images, self.records, self.tree
        panels = []
        for role in ROLES:
            image = images[role]
            maps = HeatMaps.from_record(records[role], size=(image.height, image.width))
            entries = []
            for entity in tree.entities:
                words = [w for w in maps if w.span[0] < entity.span[1] and entity.span[0] < w.span[1]]
                words += [w for a in entity.attributes for w in maps if w.span[0] < a.span[1] and a.span[0] < w.span[1]]
                if words:
                    label = " ".join([a.text for a in entity.attributes] + [entity.text])
                    entries.append((label, sum(w.map for w in words)))
            panels.append((role, image, entries))
        return panels

    def _repr_html_(self) -> str:
        from .heat_maps import _image_array, overlay_png

        summary = {role: self._variant(role).summary for role in ROLES}

        def number(value) -> str:
            return "–" if value is None else f"{value:.2f}"

        card = '<div style="border:1px solid #ccc;border-radius:6px;padding:6px 10px;margin:4px;display:inline-block">'
        numbers = "".join(
            f'{card}<div style="font-size:12px;color:#555">{html.escape(name)}</div>'
            f"<div>{number(summary['baseline'].get(name))} &rarr; {number(summary['modulated'].get(name))}</div></div>"
            for name in ("leakage", "binding", "misbound", "self_leakage")
        )
        problems = "".join(
            f'{card}<div style="font-size:12px;color:#555">{html.escape(item["severity"])} '
            f"&middot; {html.escape(item['status'])}</div><div>{html.escape(item['text'])}</div>"
            + (
                f'<div style="font-size:12px">{number(item.get("baseline"))} &rarr; {number(item.get("modulated"))}</div>'
                if "baseline" in item
                else ""
            )
            + "</div>"
            for item in self.findings
        )
        cards = f"<div>{problems}</div><div>{numbers}</div>"
        rows = []
        for role, image, maps in self._entity_maps():
            background = _image_array(image, (image.height, image.width))
            tiles = [_tile(_png(image), f"{role} ({self._variant(role).variant})")]
            tiles += [_tile(overlay_png(values, background), label) for label, values in maps]
            rows.append(f"<div>{''.join(tiles)}</div>")
        verdicts = "".join(f"<li>{html.escape(line)}</li>" for line in self.verdicts)
        if self.truth:
            seen = "".join(f"<li>{html.escape(line)}</li>" for line in self.truth["lines"])
            cards = f"<div>What the images show (the shapes judge):<ul>{seen}</ul></div>" + cards
        return (
            f'<div><div style="font-size:15px;font-weight:600">{html.escape(self.prompt)}</div>'
            f'<div style="margin:4px 0">{html.escape(self.headline)}</div>'
            f"<div>{cards}</div>{''.join(rows)}<details><summary>all findings</summary><ul>{verdicts}</ul>"
            "</details></div>"
        )

    def __repr__(self) -> str:
        return f"Diagnosis(prompt={self.prompt!r}, variant={self.variant!r}, folder={str(self.folder)!r})"


def _png(image) -> str:
    import base64
    import io

    picture = image.copy()
    picture.thumbnail((256, 256))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _tile(png: str, caption: str) -> str:
    return (
        '<figure style="margin:4px;display:inline-block;text-align:center">'
        f'<img src="data:image/png;base64,{png}" style="width:128px;height:auto" alt="{html.escape(caption)}">'
        f'<figcaption style="font-size:12px">{html.escape(caption)}</figcaption></figure>'
    )


def as_model(pipe_or_model):
    """A ``LoadedModel`` for a pipeline, a ``LoadedModel`` or an embedded/local model name."""
    from ..toolkit.models.loading import LoadedModel, load_model

    if isinstance(pipe_or_model, LoadedModel):
        return pipe_or_model
    if isinstance(pipe_or_model, str):
        return load_model(pipe_or_model)
    from .session import check_pipeline

    pipe = pipe_or_model
    check_pipeline(pipe)
    parameters = inspect.signature(type(pipe).__call__).parameters
    if "image" in parameters or "mask_image" in parameters:
        raise AttnmodError(
            f"diagnose runs text-to-image pipelines; {type(pipe).__name__} needs an input image: use "
            "attnmod.modulate() around your own call and attnmod.score() on its records instead"
        )
    from ..toolkit.models.shapes import trained_on_world

    unet = pipe.unet
    return LoadedModel(
        pipeline=pipe,
        # the shapes model's own pipeline keeps its defaults (25 steps at 64 px) and its judge
        name="shapes" if trained_on_world(pipe) else type(pipe).__name__,
        family="sdxl" if getattr(pipe, "text_encoder_2", None) is not None else "sd",
        device=str(unet.device),
        dtype=str(unet.dtype).removeprefix("torch."),
    )


def run(pipe_or_model, prompt: str, variant, seed, steps, guidance, height, width, out=None, **options) -> Diagnosis:
    from ..workflows import run_diagnosis

    given = ("model", "prompt", "variant", "seed", "steps", "guidance", "height", "width", "out_dir")
    known = sorted(name for name in inspect.signature(run_diagnosis).parameters if name not in given)
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise AttnmodError(f"diagnose() got unknown option(s) {', '.join(unknown)} (known: {', '.join(known)})")
    options.setdefault("formats", ())  # reports are built on demand by Diagnosis.report
    model = as_model(pipe_or_model)
    from ..toolkit.models.shapes import vocabulary_warning

    warning = vocabulary_warning(model, prompt)
    if warning:
        warnings.warn(warning, stacklevel=3)
    if not isinstance(variant, str):
        options["config"] = variant  # a ModulationConfig
        variant = variant.variant
    temporary = out is None
    folder = Path(tempfile.mkdtemp(prefix="attnmod-diagnosis-")) if temporary else Path(out)
    try:
        data = run_diagnosis(
            model,
            prompt,
            variant=variant,
            seed=seed,
            steps=steps,
            guidance=guidance,
            height=height,
            width=width,
            out_dir=folder,
            **options,
        )
    except BaseException:
        if temporary:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    return Diagnosis(data, folder, temporary=temporary)
