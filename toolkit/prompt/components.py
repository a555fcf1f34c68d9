"""The parser back ends as registered spaCy components: ``Doc -> Doc``, each declaring what it reads and writes.

Both write the same thing, a :class:`~attnmod.toolkit.prompt.syntax.DraftTree` (entities, attributes, nesting,
character spans) on ``doc._.attnmod_draft``, which :mod:`attnmod.toolkit.prompt.parse` aligns to the text encoders' tokens.

* ``attnmod_dependency_tree`` reads spaCy's dependency parse, tags and lemmas (:mod:`attnmod.toolkit.prompt.dependency`).
* ``attnmod_constituency_tree`` reads benepar's constituency parse of each sentence (``sent._.parse_string``), put
  there by benepar's own component placed before it (:mod:`attnmod.toolkit.prompt.constituency`). benepar takes words
  only: the parse runs spaCy on the text, then both on :func:`words_only` of the result.

The words both builders see come from one function, :func:`~attnmod.toolkit.prompt.syntax.word_from_token`.
"""

from __future__ import annotations

from spacy.language import Language
from spacy.tokens import Doc

DRAFT = "attnmod_draft"
REPAIR_COMPONENT = "attnmod_repairs"
DEPENDENCY_COMPONENT = "attnmod_dependency_tree"
CONSTITUENCY_COMPONENT = "attnmod_constituency_tree"
#: benepar's own component (registered by ``import benepar``), which the constituency component reads.
BENEPAR_COMPONENT = "benepar"

if not Doc.has_extension(DRAFT):
    Doc.set_extension(DRAFT, default=None)


@Language.factory(
    REPAIR_COMPONENT,
    requires=["token.dep", "token.head", "token.tag", "token.lemma"],
    assigns=["token.dep", "token.head", "token.tag", "token.pos", "token.lemma"],
)
def make_repairs(nlp: Language, name: str):
    """Repairs of the small model's errors on prompts (:mod:`attnmod.toolkit.prompt.repairs`), with the
    lemmatiser's own tables when the pipeline has a rule lemmatiser."""
    from .repairs import Lexicon, repair

    lexicon = None
    if "lemmatizer" in nlp.pipe_names:
        lookups = getattr(nlp.get_pipe("lemmatizer"), "lookups", None)
        if lookups is not None and lookups.has_table("lemma_index") and lookups.has_table("lemma_exc"):
            lexicon = Lexicon(lookups)
    return lambda doc: repair(doc, lexicon)


@Language.component(
    DEPENDENCY_COMPONENT,
    # token.pos is read too; spaCy's English pipelines map it from the tags without declaring it, so it is not
    # listed here (analyze_pipes would report a missing provider).
    requires=["token.dep", "token.head", "token.tag", "token.lemma"],
    assigns=[f"doc._.{DRAFT}"],
)
def dependency_tree(doc: Doc) -> Doc:
    from .dependency import build_from_dependency

    doc._.attnmod_draft = build_from_dependency(doc)
    return doc


@Language.component(
    CONSTITUENCY_COMPONENT,
    requires=["doc.sents", "token.tag", "token.lemma"],
    assigns=[f"doc._.{DRAFT}"],
)
def constituency_tree(doc: Doc) -> Doc:
    import nltk

    from .constituency import build_from_constituency
    from .syntax import word_from_token

    trees = [nltk.Tree.fromstring(sentence._.parse_string) for sentence in doc.sents]
    words = [word_from_token(token) for token in doc if not token.is_space]
    doc._.attnmod_draft = build_from_constituency(trees, words)
    return doc


def words_only(doc: Doc) -> Doc:
    """``doc``'s words without its whitespace tokens, as benepar takes them, with what the constituency component
    reads: spaCy's tags (benepar's spaCy component writes them as the preterminals of its trees; "XX" where a
    token has none), lemmas and sentence starts.

    Each word is followed by one space, so character offsets are those of the new text, not of ``doc``'s: the
    words keep ``doc``'s order, and the caller maps them back by position.
    """
    tokens = [token for token in doc if not token.is_space]
    return Doc(
        doc.vocab,
        words=[token.text for token in tokens],
        spaces=[True] * len(tokens),
        tags=[token.tag_ or "XX" for token in tokens],
        lemmas=[token.lemma_ for token in tokens],
        sent_starts=[k == 0 or token.is_sent_start for k, token in enumerate(tokens)],
    )


def with_component(nlp: Language, name: str, before: str | None = None) -> Language:
    """``nlp`` with component ``name`` last in its pipeline, or before component ``before`` (added once; the
    pipeline object is shared)."""
    if name not in nlp.pipe_names:
        if before is not None and before in nlp.pipe_names:
            nlp.add_pipe(name, before=before)
        else:
            nlp.add_pipe(name, last=True)
    return nlp
