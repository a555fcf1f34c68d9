"""Words of the tree -> positions in the text encoders' 77-token sequences."""

from __future__ import annotations

import pytest
from attnmod.toolkit.prompt.alignment import TokenAlignment, align_prompt, align_tokens
from attnmod.toolkit.prompt.parse import parse_prompt


def positions_hold_the_word(tokenizer, tree) -> None:
    """The ids at an entity's positions in the padded, truncated sequence the pipeline builds spell its words."""
    ids = tokenizer(tree.prompt, padding="max_length", max_length=77, truncation=True)["input_ids"]
    for entity in tree.entities:
        for text, tokens in [(entity.text, entity.tokens)] + [(a.text, a.tokens) for a in entity.attributes]:
            if tokens:
                decoded = tokenizer.decode([ids[p] for p in tokens]).replace(" ", "")
                assert decoded == text.lower().replace(" ", "")


def test_repeated_words_get_their_own_positions(clip_tokenizer):
    tree = parse_prompt("a red car and a red car", [clip_tokenizer])
    assert [e.tokens for e in tree.entities] == [(3,), (7,)]
    assert [e.attributes[0].tokens for e in tree.entities] == [(2,), (6,)]
    positions_hold_the_word(clip_tokenizer, tree)


def test_multi_piece_words_get_all_pieces(clip_tokenizer):
    tree = parse_prompt("a red unbelievablyfantastic dog", [clip_tokenizer])
    pieces = clip_tokenizer.tokenize("unbelievablyfantastic")
    assert len(pieces) > 1
    attribute = tree.entities[0].attributes[-1]
    assert attribute.text == "unbelievablyfantastic"
    assert attribute.tokens == tuple(range(3, 3 + len(pieces)))
    assert tree.entities[0].tokens == (3 + len(pieces),)
    positions_hold_the_word(clip_tokenizer, tree)


def test_punctuation_and_case(clip_tokenizer):
    lower = parse_prompt("a red car, a blue bus.", [clip_tokenizer])
    upper = parse_prompt("A RED CAR, A BLUE BUS.", [clip_tokenizer])
    # the comma takes position 4
    assert [e.tokens for e in lower.entities] == [(3,), (7,)]
    assert [e.tokens for e in upper.entities] == [(3,), (7,)]
    assert [a.tokens for e in upper.entities for a in e.attributes] == [(2,), (6,)]
    assert upper.entities[0].text == "CAR" and upper.entities[0].noun == "car"


def test_both_sdxl_tokenizers_agree(tiny_model, clip_tokenizer):
    assert len(tiny_model.tokenizers) == 2
    prompt = "a photo of a purple wine glass and a black apple"
    with_pipeline = parse_prompt(prompt, tiny_model.tokenizers)
    assert with_pipeline == parse_prompt(prompt)  # the default tokenizer is CLIP's
    assert not with_pipeline.warnings
    for tokenizer in tiny_model.tokenizers:
        positions_hold_the_word(tokenizer, with_pipeline)
    assert with_pipeline.entities[0].tokens == (6, 7)  # "wine glass": both words


def test_entities_past_77_tokens_are_marked_truncated(clip_tokenizer):
    prompt = "a red car and a blue bus and " * 10 + "a green dog"
    tree = parse_prompt(prompt, [clip_tokenizer])
    assert tree.truncated
    assert len(tree.entities) == 21  # none dropped
    cut = [e for e in tree.entities if e.truncated]
    kept = [e for e in tree.entities if not e.truncated]
    assert cut and kept
    assert all(max(e.tokens) <= 75 for e in kept)
    assert all(e.tokens == () for e in cut)
    assert tree.entities[-1].truncated and tree.entities[-1].text == "dog"
    assert any("truncated" in w and "dog" in w for w in tree.warnings)
    positions_hold_the_word(clip_tokenizer, tree)


def test_a_word_across_the_limit_keeps_the_pieces_that_fit(clip_tokenizer):
    # 73 one-token words fill positions 1..73; the 4-piece word takes 74, 75 (kept) and 76, 77 (cut)
    prompt = "a " * 73 + "unbelievablyfantastic"
    alignment = align_tokens(prompt, clip_tokenizer)
    start = prompt.index("unbelievablyfantastic")
    kept, cut = alignment.positions(start, len(prompt))
    assert kept == (74, 75) and cut
    assert alignment.truncated and alignment.length == 77


class _OffsetlessTokenizer:
    """A tokenizer without character offsets (a slow tokenizer): only ``tokenize``."""

    is_fast = False
    model_max_length = 77

    def __init__(self, inner):
        self.inner = inner

    def tokenize(self, text):
        return self.inner.tokenize(text)


def test_tokenizers_without_offsets_align_by_pre_token(clip_tokenizer):
    prompt = "A red-and-white car, two dogs and an unbelievablyfantastic hat!"
    fast = align_tokens(prompt, clip_tokenizer)
    slow = align_tokens(prompt, _OffsetlessTokenizer(clip_tokenizer))
    assert slow.length == fast.length
    for start, end in [(2, 5), (17, 20), (22, 25), (40, 61), (62, 65)]:
        assert slow.positions(start, end) == fast.positions(start, end)
    tree_fast = parse_prompt(prompt, [clip_tokenizer])
    tree_slow = parse_prompt(prompt, [_OffsetlessTokenizer(clip_tokenizer)])
    assert tree_slow == tree_fast


def test_disagreeing_tokenizers_are_reported(clip_tokenizer):
    class CharacterTokenizer(_OffsetlessTokenizer):
        def tokenize(self, text):
            return list(text)

    alignments, warnings = align_prompt("a red car", [clip_tokenizer, CharacterTokenizer(None)])
    assert len(alignments) == 2
    assert warnings and "tokenizer 2" in warnings[0]
    tree = parse_prompt("a red car", [clip_tokenizer, CharacterTokenizer(None)])
    assert tree.entities[0].tokens == (3,)  # positions follow the first tokenizer
    assert any("tokenizer 2" in w for w in tree.warnings)


@pytest.mark.parametrize(
    ("offsets", "span", "expected"),
    [
        (((0, 1), (2, 5)), (2, 5), ((2,), False)),
        (((0, 1), (2, 5)), (0, 5), ((1, 2), False)),
        (((0, 3), (3, 6), (6, 9)), (4, 5), ((2,), False)),  # a span inside one piece
        (((0, 1), (2, 5)), (6, 9), ((), False)),  # no token there
    ],
)
def test_positions_overlap_rule(offsets, span, expected):
    assert TokenAlignment(offsets=offsets).positions(*span) == expected
