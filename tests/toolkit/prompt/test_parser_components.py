"""The parser back ends are registered spaCy components that declare what they read and write."""

from __future__ import annotations

from attnmod.toolkit.prompt import components as parser_components
from attnmod.toolkit.prompt.nlp import load_spacy
from spacy.language import Language


def test_both_back_ends_are_registered_with_their_inputs_and_outputs():
    for name in (parser_components.DEPENDENCY_COMPONENT, parser_components.CONSTITUENCY_COMPONENT):
        assert Language.has_factory(name)
        assert Language.get_factory_meta(name).assigns == ["doc._.attnmod_draft"]
    assert "token.dep" in Language.get_factory_meta(parser_components.DEPENDENCY_COMPONENT).requires
    assert "doc.sents" in Language.get_factory_meta(parser_components.CONSTITUENCY_COMPONENT).requires


def test_the_dependency_component_writes_the_draft_tree_on_the_doc():
    nlp = parser_components.with_component(load_spacy(None), parser_components.DEPENDENCY_COMPONENT)
    assert nlp.pipe_names[-1] == parser_components.DEPENDENCY_COMPONENT
    assert (
        parser_components.with_component(nlp, parser_components.DEPENDENCY_COMPONENT).pipe_names.count(
            parser_components.DEPENDENCY_COMPONENT
        )
        == 1
    )
    assert nlp.analyze_pipes()["problems"][parser_components.DEPENDENCY_COMPONENT] == []
    draft = nlp("a man with a red hat")._.attnmod_draft
    words = [word.text for word in draft.words]
    assert words == ["a", "man", "with", "a", "red", "hat"]
    assert [[words[i] for i in entity.name] for entity in draft.entities] == [["man"], ["hat"]]
    hat = draft.entities[1]
    assert hat.parent == 0  # the hat is nested in the man
    assert [[words[i] for i in attribute] for attribute in hat.attributes] == [["red"]]


def test_words_only_drops_whitespace_tokens_and_keeps_tags_lemmas_and_sentences():
    tagged = load_spacy(None)("Two  red apples.\n\nA dog sleeps")
    assert any(token.is_space for token in tagged)
    doc = parser_components.words_only(tagged)
    kept = [token for token in tagged if not token.is_space]
    assert [token.text for token in doc] == ["Two", "red", "apples", ".", "A", "dog", "sleeps"]
    assert doc.text == "Two red apples . A dog sleeps "
    assert [token.tag_ for token in doc] == [token.tag_ for token in kept]
    assert [token.lemma_ for token in doc] == [token.lemma_ for token in kept]
    assert [token.lemma_ for token in doc][2] == "apple"
    assert [sentence.text.split()[0] for sentence in doc.sents] == ["Two", "A"]
