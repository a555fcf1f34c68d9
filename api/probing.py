"""``attnmod.probe``: which text positions your pipeline's image depends on (see docs/information_flow.md).

::

    result = attnmod.probe(pipe, "a red car and a white sheep", seeds=[0, 1])
    result.table()            # edits ranked by effect (1.0 = as much change as a new seed)
    result.plot()             # the effects as a bar chart
    result.save("probe-out")  # probe.json, a grid per edit, report.html
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path


class Probe:
    """The probe of one prompt: :attr:`data` is the :class:`~attnmod.analysis.information_flow.ProbeTable` (rows
    ranked by image effect), :attr:`images` the :class:`~attnmod.toolkit.probe.ProbeImages` (unedited and edited
    images and final latents per seed). Displays as a table in notebooks."""

    def __init__(self, table, images):
        self.data = table
        self.images = images

    @property
    def prompt(self) -> str:
        return self.data.prompt

    def effect(self, key: str) -> float:
        """The image effect of the edit ``key`` (``"padding"``, ``"word:red"``, ``"swap:red:blue"``, ...)."""
        return self.data.row(key).image_effect

    def table(self) -> str:
        """The ranked table as text (what ``attnmod probe`` prints)."""
        from ..reports.probe_report import format_probe

        return format_probe(self.data)

    def reading(self) -> str | None:
        """A sentence when the image depends on the padding more than on the words (see
        :func:`attnmod.analysis.information_flow.padding_reading`), else None."""
        from ..analysis.information_flow import table_reading

        return table_reading(self.data)

    def to_json(self) -> dict:
        return self.data.to_json()

    def plot(self):
        """Each edit's image effect as horizontal bars, largest first (a matplotlib figure)."""
        from ..reports.probe_report import effect_figure

        return effect_figure(self.data)

    def save(self, out: str | Path, formats: str | Sequence[str] = ("html",)) -> list[Path]:
        """Write ``probe.json``, one grid per edit and the report into ``out``; returns the paths."""
        from ..workflows import write_probe

        return write_probe(self.data, self.images, out, formats)

    def _repr_html_(self) -> str:
        def number(value) -> str:
            return "–" if value is None or value != value else f"{value:.2f}"

        judged = self.data.unedited is not None
        columns = ("present", "colour_binding", "followed")
        head = "<th>edit</th><th>image effect</th><th>latent effect</th>" + (
            "<th>all present</th><th>colours bound</th><th>swap followed</th>" if judged else ""
        )
        rows = "".join(
            f"<tr><td>{html.escape(row.edit['label'])}</td><td>{number(row.image_effect)}</td>"
            f"<td>{number(row.latent_effect)}</td>"
            + ("".join(f"<td>{number((row.judged or {}).get(c))}</td>" for c in columns) if judged else "")
            + "</tr>"
            for row in self.data.rows
        )
        reading = self.reading()
        note = f"<p>{html.escape(reading)}</p>" if reading else ""
        return (
            f'<div><div style="font-weight:600">Information flow: {html.escape(self.prompt)}</div>'
            f"<div>seeds {html.escape(', '.join(map(str, self.data.seeds)))}; effect 1.00 = as much change as a new "
            f"seed</div>{note}<table><tr>{head}</tr>{rows}</table></div>"
        )

    def __repr__(self) -> str:
        return f"Probe({self.prompt!r}, {len(self.data.rows)} edits, seeds {self.data.seeds})"


def run(
    pipe_or_model,
    prompt: str,
    seeds: Sequence[int] = (0, 1),
    edits: str | Sequence[str] = "default",
    encoders: str | Sequence[str] = "both",
    steps: int | None = None,
    guidance: float = 5.0,
    height: int | None = None,
    width: int | None = None,
    **options,
) -> Probe:
    from ..workflows import run_probe
    from .diagnosis import as_model

    table, images = run_probe(
        as_model(pipe_or_model),
        prompt,
        seeds=seeds,
        edits=edits,
        encoders=encoders,
        steps=steps,
        guidance=guidance,
        height=height,
        width=width,
        formats=(),
        **options,
    )
    return Probe(table, images)
