"""What attention capture keeps: running sums per resolution, phase and token, never per-step lists.

Files: ``attention.safetensors`` holds the tensors, ``attention.json`` beside it the metadata. Tensor keys:

* ``cross/{H}x{W}/{phase}``: float32 ``[tokens, H, W]``, the sum over captured (layer, step) contributions of
  the conditional half's cross-attention probabilities, averaged over heads, for every text token position.
* ``self/{H}x{W}/{phase}``: float32 ``[H*W, H*W]``, the same for self-attention (optional; coarsest resolution
  only, since it grows with the fourth power of the side).

``attention.json``: ``{"format": "attnmod.attention/1", "phases": [{"name", "start", "end"}],
"counts": {"cross/...": int, "self/...": int}, "token_ids": [int], "token_texts": [str],
"tree": PromptTree JSON or null, "metadata": {...}}``. A mean map is ``sum / count``.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from .errors import AttnmodError
from .prompt_tree import PromptTree

FORMAT = "attnmod.attention/1"
TENSOR_FILE = "attention.safetensors"
METADATA_FILE = "attention.json"


@dataclasses.dataclass(frozen=True)
class Phase:
    """A part of denoising progress, ``start <= progress < end`` with progress = step / steps in [0, 1)."""

    name: str
    start: float
    end: float

    def contains(self, progress: float) -> bool:
        return self.start <= progress < self.end or (self.end >= 1.0 and progress >= 1.0)


DEFAULT_PHASES = (Phase("early", 0.0, 0.3), Phase("middle", 0.3, 0.7), Phase("late", 0.7, 1.0))


def phase_of(progress: float, phases=DEFAULT_PHASES) -> Phase | None:
    for phase in phases:
        if phase.contains(progress):
            return phase
    return None


def resolution_key(height: int, width: int) -> str:
    return f"{height}x{width}"


def parse_resolution(key: str) -> tuple[int, int]:
    height, width = key.split("x")
    return int(height), int(width)


@dataclasses.dataclass
class AttentionRecord:
    """Captured attention of one prompt (one sample), as sums and counts."""

    phases: tuple[Phase, ...] = DEFAULT_PHASES
    sums: dict = dataclasses.field(default_factory=dict)  # key "cross/HxW/phase" -> tensor
    counts: dict = dataclasses.field(default_factory=dict)  # same key -> number of contributions
    token_ids: list[int] = dataclasses.field(default_factory=list)
    token_texts: list[str] = dataclasses.field(default_factory=list)
    tree: PromptTree | None = None
    metadata: dict = dataclasses.field(default_factory=dict)

    @staticmethod
    def key(kind: str, resolution: str, phase: str) -> str:
        return f"{kind}/{resolution}/{phase}"

    def resolutions(self, kind: str = "cross") -> list[str]:
        found = {k.split("/")[1] for k in self.sums if k.startswith(kind + "/")}
        return sorted(found, key=lambda r: parse_resolution(r)[0] * parse_resolution(r)[1])

    def phase_names(self) -> list[str]:
        return [p.name for p in self.phases]

    def mean(self, kind: str, resolution: str, phase: str):
        """The mean map for one key: cross ``[tokens, H, W]`` or self ``[H*W, H*W]``; ``None`` if not captured."""
        key = self.key(kind, resolution, phase)
        if key not in self.sums or not self.counts.get(key):
            return None
        return self.sums[key] / self.counts[key]

    def add(self, kind: str, resolution: str, phase: str, contribution, count: int = 1) -> None:
        """Add one (or ``count``) contributions to the running sum (in float32, on the CPU)."""
        import torch

        key = self.key(kind, resolution, phase)
        value = contribution.detach().to(device="cpu", dtype=torch.float32)
        if key in self.sums:
            self.sums[key] += value
        else:
            self.sums[key] = value.clone()
        self.counts[key] = self.counts.get(key, 0) + count

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.sums.values())

    def save(self, folder: str | Path) -> tuple[Path, Path]:
        """Write ``attention.safetensors`` and ``attention.json`` into ``folder``."""
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        tensor_path, metadata_path = folder / TENSOR_FILE, folder / METADATA_FILE
        save_file({k: v.contiguous() for k, v in self.sums.items()}, str(tensor_path))
        metadata_path.write_text(json.dumps(self.metadata_json(), indent=1, ensure_ascii=False), encoding="utf-8")
        return tensor_path, metadata_path

    def metadata_json(self) -> dict:
        return {
            "format": FORMAT,
            "phases": [dataclasses.asdict(p) for p in self.phases],
            "counts": dict(self.counts),
            "token_ids": list(self.token_ids),
            "token_texts": list(self.token_texts),
            "tree": self.tree.to_json() if self.tree is not None else None,
            "metadata": self.metadata,
        }

    @classmethod
    def load(cls, path: str | Path) -> AttentionRecord:
        """Load from a folder holding both files, or from either file's path."""
        path = Path(path)
        folder = path if path.is_dir() else path.parent
        tensor_path, metadata_path = folder / TENSOR_FILE, folder / METADATA_FILE
        for needed in (tensor_path, metadata_path):
            if not needed.is_file():
                raise AttnmodError(
                    f"{str(needed)!r} not found: an attention record needs both {TENSOR_FILE} and {METADATA_FILE}"
                )
        try:
            meta = json.loads(metadata_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise AttnmodError(f"{str(metadata_path)!r} is not valid JSON ({error})") from error
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise AttnmodError(f"{str(metadata_path)!r} is not an attnmod attention record (format {FORMAT})")
        try:
            from safetensors.torch import load_file

            sums = load_file(str(tensor_path))
        except Exception as error:  # noqa: BLE001 - safetensors raises several types for a damaged file
            raise AttnmodError(f"{str(tensor_path)!r} is corrupt or truncated ({error})") from error
        counts = {k: int(v) for k, v in meta.get("counts", {}).items()}
        missing = sorted(set(sums) - set(counts))
        if missing:
            raise AttnmodError(f"{str(metadata_path)!r} has no counts for {', '.join(missing)}")
        try:
            phases = tuple(Phase(p["name"], float(p["start"]), float(p["end"])) for p in meta["phases"])
            tree = PromptTree.from_json(meta["tree"]) if meta.get("tree") else None
        except (KeyError, TypeError, ValueError) as error:
            raise AttnmodError(f"{str(metadata_path)!r} has malformed metadata ({error})") from error
        return cls(
            phases=phases,
            sums=dict(sums),
            counts=counts,
            token_ids=list(meta.get("token_ids", [])),
            token_texts=list(meta.get("token_texts", [])),
            tree=tree,
            metadata=meta.get("metadata", {}),
        )
