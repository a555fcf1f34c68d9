"""Words to token positions in a text encoder's sequence.

The encoder sees ``[start] t1 t2 ... tn [end] [pad]...`` truncated to its context (77 for CLIP): position 0 is the
start token and content token ``i`` (1-based) sits at position ``i``. A word covers every content token whose
character offsets overlap its characters, so a word split into pieces gets all its pieces and each occurrence
of a repeated word gets its own positions. Content tokens past ``context - 2`` are cut by the pipeline; a word
there keeps the positions that remain and is marked truncated.

Offsets come from the fast (Rust) tokenizer, which reports them in the caller's string even after CLIP's
lower-casing and whitespace clean-up. Tokenizers without offsets fall back to tokenising CLIP pre-tokens one by one.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
from collections.abc import Sequence

from .tokenizer import CLIP_CONTEXT_LENGTH

# CLIP's pre-tokenizer: contractions, runs of letters, single digits, runs of other non-space characters.
_CLIP_PRETOKEN = r"'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"


@dataclasses.dataclass(frozen=True)
class TokenAlignment:
    """Character offsets of one tokenizer's content tokens (no start/end tokens), in order."""

    offsets: tuple[tuple[int, int], ...]
    context: int = CLIP_CONTEXT_LENGTH

    @property
    def capacity(self) -> int:
        """Content tokens that survive truncation: the context minus the start and end tokens."""
        return self.context - 2

    @functools.cached_property
    def _bounds(self) -> tuple[list[int], list[int]]:
        return [a for a, _ in self.offsets], [b for _, b in self.offsets]

    @property
    def length(self) -> int:
        return len(self.offsets)

    @property
    def truncated(self) -> bool:
        return len(self.offsets) > self.capacity

    def positions(self, start: int, end: int) -> tuple[tuple[int, ...], bool]:
        """Sequence positions of the tokens overlapping characters ``[start, end)``, and whether any were cut.

        Returns ``(kept, truncated)``: ``kept`` are positions ``1..capacity``; ``truncated`` is true when the
        span has tokens past the capacity (or, for a non-empty span with no token at all, never).
        """
        starts, ends = self._bounds
        # Tokens are in text order and do not overlap: the overlapping ones form one run.
        first = bisect.bisect_right(ends, start)
        last = bisect.bisect_left(starts, end)
        found = [i + 1 for i in range(first, last) if self.offsets[i][1] > start and self.offsets[i][0] < end]
        kept = tuple(p for p in found if p <= self.capacity)
        return kept, len(kept) < len(found)


def _context_of(tokenizer) -> int:
    length = getattr(tokenizer, "model_max_length", CLIP_CONTEXT_LENGTH)
    # transformers reports "no limit" as a huge integer; treat that as CLIP's context.
    return int(length) if isinstance(length, int) and 2 < length <= 4096 else CLIP_CONTEXT_LENGTH


def align_tokens(prompt: str, tokenizer) -> TokenAlignment:
    """Tokenise ``prompt`` in full (no truncation) and keep the content tokens' character offsets."""
    context = _context_of(tokenizer)
    if getattr(tokenizer, "is_fast", False):
        encoded = tokenizer(
            prompt,
            add_special_tokens=True,
            truncation=False,
            return_offsets_mapping=True,
            return_special_tokens_mask=True,
            verbose=False,
        )
        offsets = tuple(
            (int(a), int(b))
            for (a, b), special in zip(encoded["offset_mapping"], encoded["special_tokens_mask"], strict=True)
            if not special
        )
        return TokenAlignment(offsets=offsets, context=context)
    return TokenAlignment(offsets=_offsets_by_pretoken(prompt, tokenizer), context=context)


def _offsets_by_pretoken(prompt: str, tokenizer) -> tuple[tuple[int, int], ...]:
    """Offsets for a tokenizer that cannot report them: BPE never merges across CLIP pre-tokens, so each
    pre-token's pieces share its characters. Pieces of one pre-token get equal slices of it."""
    import regex

    offsets: list[tuple[int, int]] = []
    for match in regex.finditer(_CLIP_PRETOKEN, prompt):
        pieces = len(tokenizer.tokenize(match.group()))
        start, end = match.span()
        for k in range(pieces):
            # Proportional slices: exact at the pre-token's ends, which is what word alignment needs.
            offsets.append((start + (end - start) * k // pieces, start + (end - start) * (k + 1) // pieces))
    return tuple(offsets)


def align_prompt(prompt: str, tokenizers: Sequence) -> tuple[list[TokenAlignment], list[str]]:
    """Align ``prompt`` for every tokenizer of a pipeline; warn when they place tokens differently.

    SDXL's two tokenizers share CLIP's vocabulary and differ only in the pad token, so their positions agree; a
    pipeline whose tokenizers disagree gets the first tokenizer's positions and a warning.
    """
    alignments = [align_tokens(prompt, tokenizer) for tokenizer in tokenizers]
    warnings = []
    for index, other in enumerate(alignments[1:], start=2):
        if other.offsets != alignments[0].offsets or other.context != alignments[0].context:
            warnings.append(
                f"tokenizer {index} splits the prompt differently from tokenizer 1 "
                f"({other.length} vs {alignments[0].length} tokens); token positions follow tokenizer 1"
            )
    return alignments, warnings
