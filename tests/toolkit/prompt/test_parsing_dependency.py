"""The dependency back end (spaCy) gives the same trees as the constituency builder on the same prompts."""

from __future__ import annotations

import pytest
from attnmod.toolkit.prompt.nlp import load_spacy
from attnmod.toolkit.prompt.parse import parse_prompt, parse_prompts
from parsing_cases import CASES, LEMMA_CASES, NEGATION_CASES, NEGATION_SCOPE_CASES, PROSE_CASES, absent, nouns, summary

# A genuine attachment ambiguity: "on the right" may describe the sphere (the hand-written tree) or the cubes
# (spaCy's reading). Both are grammatical; the rest of the cases must agree exactly.
AMBIGUOUS = {"a stack of three red cubes with a blue sphere on the right"}
SHARED = [case for case in CASES + PROSE_CASES if case[0] not in AMBIGUOUS]


@pytest.fixture(scope="module")
def shared_trees():
    return dict(zip([c[0] for c in SHARED], parse_prompts([c[0] for c in SHARED], parser="dependency"), strict=True))


@pytest.mark.parametrize(("prompt", "bracketed", "expected", "style"), SHARED, ids=[c[0] for c in SHARED])
def test_dependency_matches_the_constituency_builder(shared_trees, prompt, bracketed, expected, style):
    tree = shared_trees[prompt]
    assert tree.parser == "dependency"
    assert summary(tree) == expected
    assert list(tree.style) == style


@pytest.mark.parametrize(("prompt", "bracketed", "expected"), LEMMA_CASES, ids=[c[0] for c in LEMMA_CASES])
def test_dependency_nouns(prompt, bracketed, expected):
    assert nouns(parse_prompt(prompt, parser="dependency")) == expected


@pytest.mark.parametrize(
    ("prompt", "bracketed", "expected", "negated"), NEGATION_CASES, ids=[c[0] for c in NEGATION_CASES]
)
def test_dependency_negation(prompt, bracketed, expected, negated):
    tree = parse_prompt(prompt, parser="dependency")
    assert summary(tree) == expected
    assert absent(tree) == negated


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        (
            "a woman with a green scarf and a man with a blue tie",
            [("woman", [], None), ("scarf", ["green"], "woman"), ("man", [], None), ("tie", ["blue"], "man")],
        ),
        ("a bowl of green apples", [("bowl", [], None), ("apples", ["green"], "bowl")]),
        (
            "a girl in a yellow dress holding a red balloon",
            [("girl", [], None), ("dress", ["yellow"], "girl"), ("balloon", ["red"], "girl")],
        ),
    ],
)
def test_acceptance_nesting(prompt, expected):
    assert summary(parse_prompt(prompt, parser="dependency")) == expected


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        # the tagger reads "rose" as the past of "rise" and "oven" as an adjective
        ("a red rose and a white carnation", [("rose", ["red"], None), ("carnation", ["white"], None)]),
        ("a white rose and a red carnation", [("rose", ["white"], None), ("carnation", ["red"], None)]),
        ("a photo of an oven and a bed", [("oven", [], None), ("bed", [], None)]),
        # names completed by a word the tagger called a verb, a modal or an adjective
        (
            "a photo of a brown giraffe and a white stop sign",
            [("giraffe", ["brown"], None), ("stop sign", ["white"], None)],
        ),
        ("a small block and a cylindrical soda can", [("block", ["small"], None), ("soda can", ["cylindrical"], None)]),
        ("a diamond pendant and a round locket", [("pendant", ["diamond"], None), ("locket", ["round"], None)]),
        ("a photo of a blue fire hydrant", [("fire hydrant", ["blue"], None)]),
        # coordinated noun modifiers and the adjectives around them
        ("A yellow apple and red bananas", [("apple", ["yellow"], None), ("bananas", ["red"], None)]),
        ("a plastic cutlery and fluffy clouds", [("cutlery", ["plastic"], None), ("clouds", ["fluffy"], None)]),
        ("rubber sole shoes and fluffy clouds", [("shoes", ["rubber", "sole"], None), ("clouds", ["fluffy"], None)]),
        # the first noun hung from the second's article as a pre-conjunct: the article repair leaves it be
        ("a fabric rug and fluffy clouds", [("rug", ["fabric"], None), ("clouds", ["fluffy"], None)]),
        # shape words tagged as nouns are attributes
        (
            "a pentagonal medal and a pyramidal trophy",
            [("medal", ["pentagonal"], None), ("trophy", ["pyramidal"], None)],
        ),
        ("a white teddy bear", [("teddy bear", ["white"], None)]),
        # GenEval's "X right of Y": the model hangs X from "right" as a compound or takes "right" into X's name
        ("a photo of a tie right of a baseball bat", [("tie", [], None), ("baseball bat", [], None)]),
        ("a photo of a knife right of a suitcase", [("knife", [], None), ("suitcase", [], None)]),
        ("a photo of a wine glass right of a cat", [("wine glass", [], None), ("cat", [], None)]),
    ],
)
def test_repairs_of_tagger_errors(prompt, expected):
    assert summary(parse_prompt(prompt, parser="dependency")) == expected


def test_style_phrase_and_framing():
    tree = parse_prompt("in the style of Van Gogh, a starry sky", parser="dependency")
    assert summary(tree) == [("sky", ["starry"], None)]
    assert tree.style == ("style of Van Gogh",)
    tree = parse_prompt("a close-up of a red cat", parser="dependency")
    assert summary(tree) == [("cat", ["red"], None)] and tree.style == ("close-up",)


def test_pronouns_and_predicates():
    assert summary(parse_prompt("it is red", parser="dependency")) == []
    assert summary(parse_prompt("The dog is big and brown.", parser="dependency")) == [("dog", ["big", "brown"], None)]
    assert summary(parse_prompt("a car painted red", parser="dependency"))[0][0] == "car"


def test_all_capitals_parse_like_lower_case():
    tree = parse_prompt("THERE IS FOOD IN THE FRYING PAN ON THE STOVE", parser="dependency")
    assert [e.text for e in tree.entities] == ["FOOD", "FRYING PAN", "STOVE"]
    assert [e.noun for e in tree.entities] == ["food", "frying pan", "stove"]


def test_noun_is_the_lemma():
    tree = parse_prompt("two women, three mice and a red rose", parser="dependency")
    assert [e.noun for e in tree.entities] == ["woman", "mouse", "rose"]


def test_batching_gives_the_same_trees_as_one_by_one():
    prompts = [case[0] for case in CASES[:12]]
    batched = parse_prompts(prompts, parser="dependency", batch_size=5)
    assert batched == [parse_prompt(p, parser="dependency") for p in prompts]


def test_spacy_pipeline_is_loaded_once():
    assert load_spacy() is load_spacy()
    assert "ner" not in load_spacy().pipe_names


@pytest.mark.parametrize(
    ("prompt", "bracketed", "expected", "negated"), NEGATION_SCOPE_CASES, ids=[c[0] for c in NEGATION_SCOPE_CASES]
)
def test_dependency_negation_scope(prompt, bracketed, expected, negated):
    tree = parse_prompt(prompt, parser="dependency")
    assert summary(tree) == expected
    assert absent(tree) == negated
