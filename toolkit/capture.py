"""Bounded-memory attention capture: running sums per resolution and phase, filled from the attention processors.

:class:`AttentionCapture` is an observer of :mod:`attnmod.toolkit.processors`. For every attention call it adds the
conditional rows' head-averaged probabilities to one sum per ``(kind, resolution, phase)`` and counts the
contribution; nothing is kept per step, so its memory does not depend on the number of steps:

    state bytes = samples x phases x (sum over cross-attention resolutions of tokens x H x W
                  + [self-attention at the coarsest resolution] (H x W)^2) x 4

The sums stay on the model's device during the run (no per-layer copies to the host) and become one
:class:`~attnmod.toolkit.attention_record.AttentionRecord` per sample at the end, whose ``mean()`` is the head-,
layer- and step-averaged map of a phase.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch

from .attention_record import DEFAULT_PHASES, AttentionRecord, Phase, phase_of, resolution_key
from .processors import SEQUENCE_LENGTH, AttentionEvent
from .prompt_tree import PromptTree

FLOAT_BYTES = 4


class AttentionCapture:
    """Running sums of head-averaged conditional attention for a batch of ``samples`` prompts.

    Cross-attention is kept for every token at every resolution; self-attention only when ``self_attention`` is
    true, and then only at ``self_level`` (the coarsest level: its map has (H W)^2 entries).
    ``peak_bytes`` is the largest state plus the one transient head-average this object allocates at a time.
    """

    def __init__(
        self,
        samples: int,
        phases: Sequence[Phase] = DEFAULT_PHASES,
        self_attention: bool = False,
        self_level: int | None = None,
    ):
        self.samples = samples
        self.phases = tuple(phases)
        self.self_attention = self_attention
        self.self_level = self_level
        self.sums: dict[str, torch.Tensor] = {}  # key "kind/HxW/phase" -> [samples, ...] float32
        self.counts: dict[str, int] = {}
        self.peak_bytes = 0

    def wants(self, kind: str, module: str, level: int) -> bool:
        if kind == "cross":
            return True
        return self.self_attention and (self.self_level is None or level == self.self_level)

    def observe(self, event: AttentionEvent) -> None:
        phase = phase_of(event.progress, self.phases)
        if phase is None:
            return
        height, width = event.resolution
        mean = event.probabilities.float().mean(dim=1)  # [B, N, L]: average over heads
        if event.kind == "cross":
            contribution = mean.transpose(1, 2).reshape(mean.shape[0], mean.shape[2], height, width)
        else:
            contribution = mean
        key = AttentionRecord.key(event.kind, resolution_key(height, width), phase.name)
        if key in self.sums:
            self.sums[key] += contribution
        else:
            self.sums[key] = contribution.contiguous().clone()
        self.counts[key] = self.counts.get(key, 0) + 1
        self.peak_bytes = max(self.peak_bytes, self.state_bytes + mean.numel() * FLOAT_BYTES)

    @property
    def state_bytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.sums.values())

    def records(
        self,
        token_ids: Sequence[Sequence[int]],
        token_texts: Sequence[Sequence[str]],
        trees: Sequence[PromptTree | None],
        metadata: Sequence[dict] | dict | None = None,
    ) -> list[AttentionRecord]:
        """One AttentionRecord per sample, its tensors moved to the CPU."""
        records = []
        for index in range(self.samples):
            extra = metadata[index] if isinstance(metadata, (list, tuple)) else dict(metadata or {})
            info = dict(extra)
            info["capture"] = {
                "state_bytes": self.state_bytes // max(self.samples, 1),
                "peak_bytes": self.peak_bytes,
                "self_attention": self.self_attention,
            }
            records.append(
                AttentionRecord(
                    phases=self.phases,
                    sums={key: value[index].detach().to("cpu").clone() for key, value in self.sums.items()},
                    counts=dict(self.counts),
                    token_ids=list(token_ids[index]),
                    token_texts=list(token_texts[index]),
                    tree=trees[index],
                    metadata=info,
                )
            )
        return records


def estimate_state_bytes(
    resolutions: Iterable[tuple[int, int]],
    phases: int = len(DEFAULT_PHASES),
    tokens: int = SEQUENCE_LENGTH,
    self_resolution: tuple[int, int] | None = None,
) -> int:
    """Capture state of one sample in bytes (float32): ``phases x (sum_r tokens H_r W_r + (H_s W_s)^2) x 4``."""
    cross = sum(tokens * height * width for height, width in set(resolutions))
    self_part = (self_resolution[0] * self_resolution[1]) ** 2 if self_resolution else 0
    return phases * (cross + self_part) * FLOAT_BYTES


def unet_attention_resolutions(unet, latent_height: int, latent_width: int) -> dict[int, tuple[int, int]]:
    """Level -> (H, W) of the attention maps of ``unet`` for a latent of the given size."""
    from .processors import attention_levels

    sizes = {}
    for level in sorted(set(attention_levels(unet).values())):
        height, width = latent_height, latent_width
        for _ in range(level):
            height, width = (height + 1) // 2, (width + 1) // 2
        sizes[level] = (height, width)
    return sizes
