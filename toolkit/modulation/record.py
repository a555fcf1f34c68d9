"""What attention capture keeps: running sums per resolution, phase and token, never per-step lists.

Files: ``attention.safetensors`` holds the tensors, ``attention.json`` beside it the metadata. Tensor keys:

* ``cross/{H}x{W}/{phase}``: float32 ``[tokens, H, W]``, the sum over captured (layer, step) contributions of
  the conditional half's cross-attention probabilities, averaged over heads, for every text token position.
  These are **the model's own maps**: the probabilities the model computed at that latent before any modulation
  edited them (on an unmodulated run, simply the maps it used).
* ``self/{H}x{W}/{phase}``: float32 ``[H*W, H*W]``, the same for self-attention (optional; coarsest resolution
  only, since it grows with the fourth power of the side).
* ``applied/{kind}/{H}x{W}/{phase}``: the maps **applied** after the modulation (masking, reweighting, the
  self-attention temperature), with the same count, only for keys where some step was modulated. Elsewhere the
  applied maps are the model's own.

Scores read the model's own maps: scoring the applied maps of a modulated run would be circular (masking forces
entity maps apart by construction). ``attention.json``: ``{"format": "attnmod.attention/2", "phases": [{"name",
"start", "end"}], "counts": {"cross/...": int, "self/...": int}, "applied": ["cross/...", ...], "token_ids": [int],
"token_texts": [str], "tree": PromptTree JSON or null, "metadata": {...}, "tensor_sha256": hex}``
(``tensor_sha256``: the SHA-256 of ``attention.safetensors`` as written, checked on load; absent in older records). A mean map is ``sum / count``.
Format 1 records (earlier versions) stored only the applied maps under the plain keys; they load with
``sums_source = "applied"`` when the run was modulated.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from ..errors import AttnmodError
from ..prompt.tree import PromptTree
from ..run_files import ATTENTION_METADATA_FILE, ATTENTION_TENSOR_FILE

FORMAT = "attnmod.attention/2"
LEGACY_FORMATS = ("attnmod.attention/1",)
APPLIED_PREFIX = "applied/"
MAP_SOURCES = ("model", "applied")
TENSOR_FILE = ATTENTION_TENSOR_FILE
METADATA_FILE = ATTENTION_METADATA_FILE


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
    """Captured attention of one prompt (one sample), as sums and counts.

    ``sums`` hold the model's own maps; ``applied`` the maps after modulation for the keys where they differ
    (same counts). ``sums_source`` is ``"model"``, or ``"applied"`` for a format-1 record of a modulated run.
    """

    phases: tuple[Phase, ...] = DEFAULT_PHASES
    sums: dict = dataclasses.field(default_factory=dict)  # key "cross/HxW/phase" -> tensor (the model's own maps)
    counts: dict = dataclasses.field(default_factory=dict)  # same key -> number of contributions
    token_ids: list[int] = dataclasses.field(default_factory=list)
    token_texts: list[str] = dataclasses.field(default_factory=list)
    tree: PromptTree | None = None
    metadata: dict = dataclasses.field(default_factory=dict)
    applied: dict = dataclasses.field(default_factory=dict)  # same keys, maps after modulation, where they differ
    sums_source: str = "model"

    def __repr__(self) -> str:
        # The tensors are summarised: printing a record (a notebook, a log line) should not dump kilobytes of numbers.
        prompt = self.tree.prompt if self.tree is not None else self.metadata.get("prompt")
        parts = [
            f"prompt={prompt!r}",
            f"tokens={len(self.token_ids)}",
            f"cross={self.resolutions('cross')}",
            f"self={self.resolutions('self')}",
            f"phases={self.phase_names()}",
            f"maps={len(self.sums)}",
        ]
        if "variant" in self.metadata:
            parts.append(f"variant={self.metadata['variant']!r}")
        if self.applied:
            parts.append(f"applied={len(self.applied)}")
        return f"AttentionRecord({', '.join(parts)})"

    @staticmethod
    def key(kind: str, resolution: str, phase: str) -> str:
        return f"{kind}/{resolution}/{phase}"

    def resolutions(self, kind: str = "cross") -> list[str]:
        found = {k.split("/")[1] for k in self.sums if k.startswith(kind + "/")}
        return sorted(found, key=lambda r: parse_resolution(r)[0] * parse_resolution(r)[1])

    def phase_names(self) -> list[str]:
        return [p.name for p in self.phases]

    @property
    def modulated_keys(self) -> list[str]:
        """Keys where the applied maps differ from the model's own (some step of them was modulated)."""
        return sorted(self.applied)

    def maps(self, source: str = "model") -> dict:
        """The sums of ``source``: ``"model"`` (the model's own maps) or ``"applied"`` (after modulation; the
        model's own where nothing was modulated)."""
        if source not in MAP_SOURCES:
            raise AttnmodError(f"unknown attention maps {source!r} (known: {', '.join(MAP_SOURCES)})")
        if source == "model":
            return self.sums
        return {key: self.applied.get(key, value) for key, value in self.sums.items()}

    def mean(self, kind: str, resolution: str, phase: str, source: str = "model"):
        """The mean map for one key: cross ``[tokens, H, W]`` or self ``[H*W, H*W]``; ``None`` if not captured.
        ``source``: ``"model"`` (default) or ``"applied"``, see :meth:`maps`."""
        key = self.key(kind, resolution, phase)
        sums = self.maps(source)
        if key not in sums or not self.counts.get(key):
            return None
        return sums[key] / self.counts[key]

    def phase_mean(self, kind: str, resolution: str, phase: str | None = None, source: str = "model"):
        """:meth:`mean` of one phase, or with ``phase=None`` the mean over all phases (the sums of every phase over
        their total count); ``None`` if nothing was captured there."""
        if phase is not None:
            return self.mean(kind, resolution, phase, source)
        sums = self.maps(source)
        total, count = None, 0
        for name in self.phase_names():
            key = self.key(kind, resolution, name)
            if key in sums and self.counts.get(key):
                total = sums[key].clone() if total is None else total + sums[key]
                count += self.counts[key]
        return None if total is None else total / count

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
        tensors = [*self.sums.values(), *self.applied.values()]
        return sum(t.numel() * t.element_size() for t in tensors)

    def save(self, folder: str | Path) -> tuple[Path, Path]:
        """Write ``attention.safetensors`` and then ``attention.json`` into ``folder``, each atomically; the JSON
        records the tensor file's SHA-256 (``tensor_sha256``), which :meth:`load` checks."""
        from ..run_files import write_json_atomic, write_safetensors_atomic

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        tensor_path, metadata_path = folder / TENSOR_FILE, folder / METADATA_FILE
        tensors = {k: v.contiguous() for k, v in self.sums.items()}
        tensors.update({APPLIED_PREFIX + k: v.contiguous() for k, v in self.applied.items()})
        checksum = write_safetensors_atomic(tensor_path, tensors)
        write_json_atomic(metadata_path, {**self.metadata_json(), "tensor_sha256": checksum})
        return tensor_path, metadata_path

    def metadata_json(self) -> dict:
        return {
            "format": FORMAT,
            "phases": [dataclasses.asdict(p) for p in self.phases],
            "counts": dict(self.counts),
            "applied": self.modulated_keys,
            "sums_source": self.sums_source,
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
        if not isinstance(meta, dict) or meta.get("format") not in (FORMAT, *LEGACY_FORMATS):
            raise AttnmodError(f"{str(metadata_path)!r} is not an attnmod attention record (format {FORMAT})")
        try:
            from safetensors.torch import load

            payload = tensor_path.read_bytes()
            sums = load(payload)
        except Exception as error:  # noqa: BLE001 - safetensors raises several types for a damaged file
            raise AttnmodError(f"{str(tensor_path)!r} is corrupt or truncated ({error})") from error
        _check_tensors(tensor_path, payload, meta.get("tensor_sha256"), sums)
        counts = {k: int(v) for k, v in meta.get("counts", {}).items()}
        applied = {k.removeprefix(APPLIED_PREFIX): v for k, v in sums.items() if k.startswith(APPLIED_PREFIX)}
        sums = {k: v for k, v in sums.items() if not k.startswith(APPLIED_PREFIX)}
        missing = sorted((set(sums) | set(applied)) - set(counts))
        if missing:
            raise AttnmodError(f"{str(metadata_path)!r} has no counts for {', '.join(missing)}")
        try:
            phases = tuple(Phase(p["name"], float(p["start"]), float(p["end"])) for p in meta["phases"])
            tree = PromptTree.from_json(meta["tree"]) if meta.get("tree") else None
        except (KeyError, TypeError, ValueError) as error:
            raise AttnmodError(f"{str(metadata_path)!r} has malformed metadata ({error})") from error
        if meta["format"] in LEGACY_FORMATS:
            # Format 1 kept only the maps after modulation; on an unmodulated run those are the model's own.
            modulated = (meta.get("metadata") or {}).get("modulated", True)
            source = "applied" if modulated else "model"
        else:
            source = meta.get("sums_source", "model") if meta.get("sums_source") in MAP_SOURCES else "model"
        return cls(
            phases=phases,
            sums=dict(sums),
            applied=applied,
            sums_source=source,
            counts=counts,
            token_ids=list(meta.get("token_ids", [])),
            token_texts=list(meta.get("token_texts", [])),
            tree=tree,
            metadata=meta.get("metadata", {}),
        )


def _check_tensors(path: Path, payload: bytes, checksum, tensors: dict) -> None:
    """Garbled tensor bytes behind an intact header load without complaint; the checksum recorded at write time
    (records from before checksums: a finiteness check) stops them before they become absurd scores."""
    import torch

    from ..run_files import sha256_hex

    if checksum is not None and sha256_hex(payload) != checksum:
        raise AttnmodError(
            f"{str(path)!r} does not match the checksum recorded in {METADATA_FILE} when it was written: the file "
            "was changed or damaged; generate it again"
        )
    for key, value in tensors.items():
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise AttnmodError(f"{str(path)!r} holds non-finite values in {key!r}: the file is damaged")
