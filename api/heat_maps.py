"""Per-word heat maps at image size, read out of an :class:`~attnmod.toolkit.modulation.record.AttentionRecord`.

A word's map at one captured resolution is the sum over its sub-word tokens of the record's mean cross-attention
over all phases (``sum of the phases' sums / sum of their counts``: every captured layer and step weighted equally),
so it is the share of the conditional attention that image patches give to that word. Each resolution's map is
upsampled bilinearly to the image size and the resolutions are averaged with equal weight:

    H_w(y, x) = (1 / R) sum_r upsample_r( sum_{t in w} mean_r[t] )(y, x)

A map is in units of attention probability (0-1); ``plot`` and the notebook view rescale each map to its own range.
Words are runs of letters and digits (with inner apostrophes and hyphens), in prompt order; a repeated word gets
one map per occurrence; a word past the 77-token limit keeps a map of zeros and ``truncated=True``.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import io
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from ..toolkit.errors import AttnmodError

if TYPE_CHECKING:
    import numpy as np
    import torch
    from matplotlib.figure import Figure

    from ..toolkit.modulation.record import AttentionRecord

WORD = re.compile(r"\w+(?:['\u2019-]\w+)*")
COLORMAP = "inferno"


@dataclasses.dataclass(frozen=True)
class WordHeatMap:
    """One word of the prompt: its text, character span, token positions and ``map`` ``[H, W]`` (float32, CPU)."""

    word: str
    index: int
    span: tuple[int, int]
    tokens: tuple[int, ...]
    map: torch.Tensor
    truncated: bool = False


def prompt_words(prompt: str) -> list[tuple[str, tuple[int, int]]]:
    """The words of ``prompt`` with their character spans, in order."""
    return [(match.group(), match.span()) for match in WORD.finditer(prompt)]


def upsample(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear upsampling of ``[..., h, w]`` maps to ``[..., H, W]`` (``align_corners=False``)."""
    import torch.nn.functional as F

    shape = maps.shape
    flat = maps.reshape(-1, 1, shape[-2], shape[-1]).float()
    resized = F.interpolate(flat, size=tuple(size), mode="bilinear", align_corners=False)
    return resized.reshape(*shape[:-2], *size)


def _overall_cross(record: AttentionRecord, resolution: str):
    total, count = None, 0
    for phase in record.phase_names():
        key = record.key("cross", resolution, phase)
        if key in record.sums and record.counts.get(key):
            total = record.sums[key].float().clone() if total is None else total + record.sums[key].float()
            count += record.counts[key]
    return None if total is None else total / count


@dataclasses.dataclass
class HeatMaps:
    """One :class:`WordHeatMap` per word of ``prompt``, all of ``size`` (height, width) in pixels.

    Index by position (``maps[2]``) or by word text (``maps["car"]``: its first occurrence). ``image`` (optional,
    a PIL image or ``[H, W, 3]`` array) is drawn under the maps by :meth:`plot` and in a notebook.
    """

    prompt: str
    size: tuple[int, int]
    words: list[WordHeatMap]
    image: object = None

    @classmethod
    def from_record(
        cls, record: AttentionRecord, size: tuple[int, int] | None = None, tokenizer=None, image=None
    ) -> HeatMaps:
        """Heat maps of ``record`` upsampled to ``size`` (default: the image size in its metadata).

        ``tokenizer``: the pipeline's first tokenizer, to place words on token positions (default: CLIP's).
        """
        import torch

        from ..toolkit.prompt.alignment import align_tokens

        prompt = record.tree.prompt if record.tree is not None else record.metadata.get("prompt")
        if not isinstance(prompt, str):
            raise AttnmodError("the attention record carries no prompt: it cannot be split into words")
        if size is None:
            height, width = record.metadata.get("height"), record.metadata.get("width")
            if not (isinstance(height, int) and isinstance(width, int)):
                raise AttnmodError("the attention record does not say its image size: pass size=(height, width)")
            size = (height, width)
        size = (int(size[0]), int(size[1]))
        resolutions = record.resolutions("cross")
        if not resolutions:
            raise AttnmodError("the attention record holds no cross-attention maps")
        if tokenizer is None:
            from ..toolkit.prompt.tokenizer import build_clip_tokenizer

            tokenizer = build_clip_tokenizer()
        alignment = align_tokens(prompt, tokenizer)
        words = prompt_words(prompt)
        positions = [alignment.positions(*span) for _, span in words]
        per_word = torch.zeros(len(words), *size)
        for resolution in resolutions:
            mean = _overall_cross(record, resolution)  # [T, h, w]
            if mean is None:
                continue
            tokens = mean.shape[0]
            summed = torch.stack(
                [
                    mean[[t for t in kept if t < tokens]].sum(0) if kept else torch.zeros_like(mean[0])
                    for kept, _ in positions
                ]
            )
            per_word += upsample(summed, size)
        per_word /= len(resolutions)
        return cls(
            prompt=prompt,
            size=size,
            words=[
                WordHeatMap(word, index, span, kept, per_word[index], truncated)
                for index, ((word, span), (kept, truncated)) in enumerate(zip(words, positions, strict=True))
            ],
            image=image,
        )

    def __len__(self) -> int:
        return len(self.words)

    def __iter__(self) -> Iterator[WordHeatMap]:
        return iter(self.words)

    def __getitem__(self, key: int | str) -> WordHeatMap:
        if isinstance(key, int):
            return self.words[key]
        for entry in self.words:
            if entry.word == key:
                return entry
        raise KeyError(f"{key!r} is not a word of {self.prompt!r} (words: {', '.join(w.word for w in self.words)})")

    def _selected(self, words: Sequence[str | int] | None) -> list[WordHeatMap]:
        return list(self.words) if words is None else [self[w] for w in words]

    def plot(
        self, words: Sequence[str | int] | None = None, image=None, columns: int = 4, alpha: float = 0.6
    ) -> Figure:
        """A matplotlib figure: one panel per word, its map (scaled to its own range) over the image."""
        from matplotlib.figure import Figure

        chosen = self._selected(words)
        background = _image_array(image if image is not None else self.image, self.size)
        columns = max(1, min(columns, len(chosen) or 1))
        rows = max(1, -(-len(chosen) // columns))
        figure = Figure(figsize=(2.4 * columns, 2.6 * rows), layout="constrained")
        axes = figure.subplots(rows, columns, squeeze=False)
        for axis in axes.flat:
            axis.set_axis_off()
        for axis, entry in zip(axes.flat, chosen, strict=False):
            if background is not None:
                axis.imshow(background)
            axis.imshow(_normalised(entry.map), cmap=COLORMAP, alpha=alpha if background is not None else 1.0)
            axis.set_title(entry.word + (" (cut)" if entry.truncated else ""), fontsize=10)
        return figure

    def _repr_html_(self) -> str:
        background = _image_array(self.image, self.size)
        tiles = []
        for entry in self.words:
            png = overlay_png(entry.map, background)
            caption = html.escape(entry.word) + (" <em>(cut)</em>" if entry.truncated else "")
            tiles.append(
                '<figure style="margin:4px;display:inline-block;text-align:center">'
                f'<img src="data:image/png;base64,{png}" style="width:128px;height:auto" alt="{html.escape(entry.word)}">'
                f'<figcaption style="font-size:12px">{caption}</figcaption></figure>'
            )
        title = html.escape(self.prompt)
        return f'<div><div style="font-weight:600">Heat maps: {title}</div>{"".join(tiles)}</div>'

    def __repr__(self) -> str:
        return f"HeatMaps(prompt={self.prompt!r}, size={self.size}, words={[w.word for w in self.words]})"


def _normalised(values) -> np.ndarray:
    import numpy as np

    array = values.detach().cpu().float().numpy() if hasattr(values, "detach") else np.asarray(values, dtype=float)
    low, high = float(array.min()), float(array.max())
    return (array - low) / (high - low) if high > low else np.zeros_like(array)


def _image_array(image, size: tuple[int, int]) -> np.ndarray | None:
    """``image`` (PIL, array or None) as float ``[H, W, 3]`` in [0, 1] at ``size``."""
    if image is None:
        return None
    import numpy as np
    from PIL import Image

    if not isinstance(image, Image.Image):
        array = np.asarray(image)
        if array.dtype != np.uint8:
            array = (np.clip(array.astype(float), 0.0, 1.0) * 255).round().astype(np.uint8)
        image = Image.fromarray(array)
    image = image.convert("RGB")
    if image.size != (size[1], size[0]):
        image = image.resize((size[1], size[0]), Image.BILINEAR)
    return np.asarray(image, dtype=np.float32) / 255.0


def overlay_png(values, background: np.ndarray | None = None, alpha: float = 0.6, side: int = 256) -> str:
    """A map (scaled to its own range, inferno colours) over an optional image, as base64 PNG text."""
    import numpy as np
    from matplotlib import colormaps
    from PIL import Image

    colored = colormaps[COLORMAP](_normalised(values))[..., :3]
    if background is not None:
        colored = alpha * colored + (1.0 - alpha) * background
    picture = Image.fromarray((np.clip(colored, 0, 1) * 255).round().astype(np.uint8))
    if max(picture.size) > side:
        picture.thumbnail((side, side), Image.BILINEAR)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True)
    return base64.b64encode(buffer.getvalue()).decode("ascii")
