"""The real CLIP BPE tokenizer, built from the vocabulary shipped with the package.

SDXL's two tokenizers are both OpenAI's CLIP BPE tokenizer (49,408 tokens, 77 positions); the second pads
with "!" (id 0) where the first pads with the end token. The vocabulary file
``data/bpe_simple_vocab_16e6.txt.gz`` comes from OpenAI's CLIP release (MIT licence in
``data/LICENSE-CLIP-BPE.txt``). The vocabulary is derived the way CLIP derives it: 256 byte symbols, the same
with an end-of-word marker, one entry per merge, then the start and end tokens.
"""

from __future__ import annotations

import functools
import gzip
import json
import tempfile
from importlib import resources
from pathlib import Path

CLIP_VOCAB_SIZE = 49408
CLIP_CONTEXT_LENGTH = 77
START_TOKEN = "<|startoftext|>"
END_TOKEN = "<|endoftext|>"
# OpenAI's merges list holds more lines than CLIP uses; CLIP keeps the first 49152 - 256 - 2 of them.
_MERGE_COUNT = 49152 - 256 - 2


def _bytes_to_unicode() -> dict[int, str]:
    """Map every byte to a printable character, as byte-level BPE requires (bytes that are already
    printable map to themselves, the rest to code points from 256 on)."""
    printable = (
        list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    )
    code_points = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            code_points.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(c) for c in code_points), strict=True))


@functools.lru_cache(maxsize=1)
def clip_vocabulary() -> tuple[dict[str, int], tuple[tuple[str, str], ...]]:
    """Return CLIP's (token -> id, merges) derived from the shipped BPE file."""
    data = resources.files("attnmod.toolkit").joinpath("data/bpe_simple_vocab_16e6.txt.gz").read_bytes()
    lines = gzip.decompress(data).decode("utf-8").split("\n")
    merges = tuple(tuple(line.split()) for line in lines[1 : _MERGE_COUNT + 1])
    symbols = list(_bytes_to_unicode().values())
    vocab_list = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges]
    vocab_list += [START_TOKEN, END_TOKEN]
    return {token: index for index, token in enumerate(vocab_list)}, merges  # type: ignore[return-value]


def _write_vocabulary_files(folder: Path) -> tuple[str, str]:
    vocab, merges = clip_vocabulary()
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    merge_lines = "\n".join(" ".join(m) for m in merges)
    (folder / "merges.txt").write_text("#version: 0.2\n" + merge_lines + "\n", encoding="utf-8")
    return str(folder / "vocab.json"), str(folder / "merges.txt")


def build_clip_tokenizer(pad_token: str = END_TOKEN):
    """Build a transformers ``CLIPTokenizer`` identical to CLIP's.

    ``pad_token="!"`` gives SDXL's second tokenizer (pads with id 0).
    """
    from transformers import CLIPTokenizer

    # The tokenizer reads both files while it is built and keeps everything in memory, so they live in a
    # temporary folder that is gone afterwards.
    with tempfile.TemporaryDirectory(prefix="attnmod-clip-bpe-") as folder:
        vocab_file, merges_file = _write_vocabulary_files(Path(folder))
        return CLIPTokenizer(
            vocab_file,
            merges_file,
            model_max_length=CLIP_CONTEXT_LENGTH,
            pad_token=pad_token,
        )


def _backend():
    """transformers' CLIPTokenizer backend built directly with the ``tokenizers`` library: NFC, whitespace runs to
    one space, lower case; CLIP's pre-token pattern; byte-level; BPE with the ``</w>`` end-of-word suffix; the
    start and end tokens around a sequence. (Built from objects rather than a JSON config: a tenth of a second
    less at start-up.)"""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import BPE

    vocab, merges = clip_vocabulary()
    tokenizer = Tokenizer(
        BPE(
            vocab=vocab,
            merges=list(merges),
            unk_token=END_TOKEN,
            continuing_subword_prefix="",
            end_of_word_suffix="</w>",
        )
    )
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()]
    )
    pattern = r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(pattern), behavior="removed", invert=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
        ]
    )
    tokenizer.post_processor = processors.RobertaProcessing(
        (END_TOKEN, vocab[END_TOKEN]), (START_TOKEN, vocab[START_TOKEN]), trim_offsets=False, add_prefix_space=False
    )
    tokenizer.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    tokenizer.add_special_tokens(
        [AddedToken(token, single_word=False, lstrip=False, rstrip=False, normalized=False, special=True)
         for token in (START_TOKEN, END_TOKEN)]
    )  # fmt: skip
    return tokenizer


class TextTokenizer:
    """CLIP's tokenizer on the ``tokenizers`` library alone, without transformers (and so without torch).

    It is the tokenizer transformers' ``CLIPTokenizer`` runs underneath (same normalizer, pre-tokenizer, BPE and
    special tokens; tests/cli/test_cli_guards.py compares them), with the small part of its calling convention that
    prompt alignment uses. Parsing a prompt with no model loaded uses it, which keeps ``attnmod parse`` quick to
    start.
    """

    is_fast = True
    model_max_length = CLIP_CONTEXT_LENGTH

    def __init__(self) -> None:
        self._tokenizer = _backend()

    def __call__(
        self,
        text: str,
        add_special_tokens: bool = True,
        truncation: bool = False,
        return_offsets_mapping: bool = False,
        return_special_tokens_mask: bool = False,
        verbose: bool = True,
    ) -> dict:
        encoding = self._tokenizer.encode(text, add_special_tokens=add_special_tokens)
        ids, offsets, special = encoding.ids, encoding.offsets, encoding.special_tokens_mask
        if truncation and len(ids) > self.model_max_length:
            ids, offsets, special = (values[: self.model_max_length] for values in (ids, offsets, special))
        result = {"input_ids": list(ids)}
        if return_offsets_mapping:
            result["offset_mapping"] = [tuple(pair) for pair in offsets]
        if return_special_tokens_mask:
            result["special_tokens_mask"] = list(special)
        return result

    def tokenize(self, text: str) -> list[str]:
        return list(self._tokenizer.encode(text, add_special_tokens=False).tokens)
