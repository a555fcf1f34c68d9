"""The constituency tree builder on hand-written Penn-Treebank trees (no model involved): tests/parsing_cases.py."""

from __future__ import annotations

import nltk
import pytest
from attnmod.toolkit.prompt.constituency import build_from_constituency, words_from_tree
from attnmod.toolkit.prompt.parse import tree_from_constituency

# tests/ is on sys.path (pytest's rootdir-relative import mode); the cases live in a plain module
from parsing_cases import CASES, LEMMA_CASES, NEGATION_CASES, NEGATION_SCOPE_CASES, PROSE_CASES, absent, nouns, summary


def test_the_hand_written_trees_are_distinct_prompts_whose_leaves_spell_the_prompt():
    prompts = [case[0] for case in CASES]
    assert len(set(prompts)) == len(prompts) >= 30
    for prompt, bracketed, _, _ in CASES:
        trees = bracketed if isinstance(bracketed, list) else [bracketed]
        leaves = [leaf for tree in trees for leaf in nltk.Tree.fromstring(tree).leaves()]
        assert "".join(leaves) == "".join(prompt.split()), prompt  # a tree for another prompt would test nothing


ALL_CASES = CASES + PROSE_CASES


@pytest.mark.parametrize(("prompt", "bracketed", "expected", "style"), ALL_CASES, ids=[c[0] for c in ALL_CASES])
def test_constituency_builder(prompt, bracketed, expected, style):
    tree = tree_from_constituency(prompt, bracketed)
    assert summary(tree) == expected
    assert list(tree.style) == style
    assert tree.parser == "benepar"
    for entity in tree.entities:
        # spans index the prompt and every word has token positions inside the 77-token window
        assert prompt[entity.span[0] : entity.span[1]] == entity.text
        assert entity.tokens and all(0 < t < 76 for t in entity.tokens)
        for attribute in entity.attributes:
            assert prompt[attribute.span[0] : attribute.span[1]] == attribute.text
            assert attribute.tokens


def test_two_sentences_as_two_trees():
    tree = tree_from_constituency(
        "A red car. A blue bus.",
        ["(S (NP (DT A) (JJ red) (NN car)) (. .))", "(S (NP (DT A) (JJ blue) (NN bus)) (. .))"],
    )
    assert summary(tree) == [("car", ["red"], None), ("bus", ["blue"], None)]
    assert [e.tokens for e in tree.entities] == [(3,), (7,)]


def test_noun_lemmas_from_plural_tags():
    tree = tree_from_constituency(
        "two women and three mice",
        "(NP (NP (CD two) (NNS women)) (CC and) (NP (CD three) (NNS mice)))",
    )
    assert [e.noun for e in tree.entities] == ["woman", "mouse"]


def test_function_tags_and_escaped_brackets_are_read():
    # "NP-SBJ" is an NP; "-LRB-" leaves stand for "(" in the prompt
    tree = tree_from_constituency(
        "a dog (brown)",
        "(NP-SBJ (NP (DT a) (NN dog)) (PRN (-LRB- -LRB-) (ADJP (JJ brown)) (-RRB- -RRB-)))",
    )
    assert summary(tree) == [("dog", [], None)]


def test_builder_reads_words_by_position_not_text():
    # benepar may normalise quotes; the builder pairs leaves with words by order
    prompt, words = words_from_tree(nltk.Tree.fromstring("(NP (DT a) (JJ red) (NN car))"), "a red car")
    draft = build_from_constituency(nltk.Tree.fromstring("(NP (DT x) (JJ y) (NN z))"), words)
    assert draft.summary() == [("car", ["red"], None)]


def test_leaf_count_must_match_words():
    _, words = words_from_tree(nltk.Tree.fromstring("(NP (DT a) (NN car))"), "a car")
    with pytest.raises(ValueError, match="leaves"):
        build_from_constituency(nltk.Tree.fromstring("(NP (DT a) (JJ red) (NN car))"), words)


@pytest.mark.parametrize(("prompt", "bracketed", "expected"), LEMMA_CASES, ids=[c[0] for c in LEMMA_CASES])
def test_constituency_nouns(prompt, bracketed, expected):
    assert nouns(tree_from_constituency(prompt, bracketed)) == expected


@pytest.mark.parametrize(
    ("prompt", "bracketed", "expected", "negated"), NEGATION_CASES, ids=[c[0] for c in NEGATION_CASES]
)
def test_constituency_negation(prompt, bracketed, expected, negated):
    tree = tree_from_constituency(prompt, bracketed)
    assert summary(tree) == expected
    assert absent(tree) == negated
    assert tree.to_json()["entities"][-1]["absent"] is True


@pytest.mark.parametrize(
    ("prompt", "bracketed", "expected", "negated"), NEGATION_SCOPE_CASES, ids=[c[0] for c in NEGATION_SCOPE_CASES]
)
def test_constituency_negation_scope(prompt, bracketed, expected, negated):
    tree = tree_from_constituency(prompt, bracketed)
    assert summary(tree) == expected
    assert absent(tree) == negated
