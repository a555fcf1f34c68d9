"""The prompt front end: prompt text -> :class:`~attnmod.toolkit.prompt.tree.PromptTree`.

``parse_prompt(prompt, tokenizers)`` parses with one of two interchangeable back ends and aligns every word of the
tree to the text encoders' token positions:

* ``dependency`` (:mod:`.dependency`): spaCy's dependency parse. Always available.
* ``benepar`` (:mod:`.constituency`): benepar's constituency parse as a spaCy component; needs a user-supplied
  model (``benepar_model=PATH`` or ``$ATTNMOD_BENEPAR_MODEL``).
* ``auto``: benepar when a model is found, else dependency. The tree's ``parser`` field says which one ran.

Bad input never raises from the parser: empty, punctuation-only, emoji or non-English prompts give a tree with no
(or few) entities and a warning; control characters and HTML tags are blanked out before parsing (the prompt and
all spans keep the original characters); a sentence too long for benepar falls back to the dependency back end
with a warning. Only a prompt that is not text or is longer than :data:`MAX_PROMPT_CHARS` is an
:class:`~attnmod.toolkit.errors.AttnmodError`.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence

from ..errors import AttnmodError
from .alignment import TokenAlignment, align_prompt
from .syntax import DraftTree, Word
from .tree import Attribute, Entity, PromptTree

PARSERS = ("auto", "benepar", "dependency")
# Far beyond CLIP's 77 tokens; keeps a pasted file from tying up the parser (spaCy's own limit is 1,000,000).
MAX_PROMPT_CHARS = 20_000
# How many entity names a warning lists before it says "and N more".
NAMED_IN_WARNINGS = 3
# benepar refuses sentences over about 300 words; stay clear of the limit and fall back to dependency.
BENEPAR_MAX_WORDS = 250
# No word is longer; a longer run of non-space characters is a URL, a hash or noise.
LONGEST_WORD = 100
_LONG_RUN = re.compile(rf"\S{{{LONGEST_WORD + 1},}}")
# Script and style elements are code, not description: blank their content along with the tags.
_HTML_TAG = re.compile(
    r"<(script|style)\b[^<>]{0,200}>.*?</\1\s*>|</?[A-Za-z][^<>]{0,200}>|&[A-Za-z]{2,8};|&#\d{1,6};",
    re.IGNORECASE | re.DOTALL,
)


def check_prompt(prompt) -> str | None:
    """Why ``prompt`` cannot be parsed (one line), or None when it can."""
    if not isinstance(prompt, str):
        return f"a prompt must be text, not {type(prompt).__name__}"
    if len(prompt) > MAX_PROMPT_CHARS:
        return f"prompt is {len(prompt):,} characters long; at most {MAX_PROMPT_CHARS:,} are parsed"
    return None


def _clean(prompt: str) -> tuple[str, list[str]]:
    """Text for the parser with the same length as ``prompt`` (so offsets carry over) and notes on what changed.

    Control and format characters, HTML tags and entities, tabs and carriage returns, and runs of more than
    :data:`LONGEST_WORD` non-space characters become spaces; newlines stay (they end sentences). An all-capitals
    prompt is lower-cased.
    """
    notes = []
    chars = list(prompt)
    replaced_control = False
    for i, ch in enumerate(chars):
        if ch == "\n":
            continue
        if ch in "\t\r\v\f" or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            if ch not in "\t\r":
                replaced_control = True
            chars[i] = " "
    text = "".join(chars)
    if replaced_control:
        notes.append("control characters were read as spaces")
    if _HTML_TAG.search(text):
        text = _HTML_TAG.sub(lambda m: " " * len(m.group()), text)
        notes.append("HTML tags and entities were ignored")
    if text.isupper() and len(text.lower()) == len(text):
        # The tagger reads capitalised words as proper names; an all-capitals prompt parses as lower case.
        text = text.lower()
    if _LONG_RUN.search(text):
        # spaCy's tokenizer splits affixes off such a run one at a time: quadratic, minutes for 20,000 characters.
        text = _LONG_RUN.sub(lambda m: " " * len(m.group()), text)
        notes.append(f"runs of more than {LONGEST_WORD} characters without a space were ignored")
    return text, notes


# Frequent function words of languages that share the Latin script with English. A prompt in which those of one
# language outnumber the English ones (and there are at least two) is probably in that language; the English
# parser then reads its words as names and the tree is junk.
def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_ENGLISH_FUNCTION_WORDS = _words(
    "a an the and with on in of at by to from under over near next behind holding wearing is are"
)
_OTHER_FUNCTION_WORDS = {
    "Spanish": _words("el la los las un una unos unas y con en del de sobre que por para al junto"),
    "French": _words("le la les un une des et avec sur dans du de au aux sous"),
    "German": _words("der die das ein eine einem einer und mit auf im den dem neben unter"),
    "Italian": _words("il lo gli le un una e con su nel nella della del di sotto"),
    "Portuguese": _words("o os as um uma e com em no na do da de sobre"),
}


def _language_notes(text: str) -> list[str]:
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return []
    non_latin = sum(1 for ch in letters if "LATIN" not in unicodedata.name(ch, ""))
    if non_latin > len(letters) / 2:
        return ["the prompt is mostly in a non-Latin script; the parser and CLIP are English-only"]
    words = re.findall(r"[^\W\d_]+", text.lower())
    english = sum(1 for word in words if word in _ENGLISH_FUNCTION_WORDS)
    counts = {
        language: sum(1 for word in words if word in vocabulary and word not in _ENGLISH_FUNCTION_WORDS)
        for language, vocabulary in _OTHER_FUNCTION_WORDS.items()
    }
    language, found = max(counts.items(), key=lambda pair: pair[1])
    if found >= 2 and found > english:
        return [
            f"the prompt looks like {language}, not English; the parser and CLIP are English-only, so its entities "
            "and attributes are probably wrong"
        ]
    return []


@functools.lru_cache(maxsize=1)
def _default_tokenizers() -> tuple:
    # CLIP's tokenizer without transformers: the same token positions, a second less to start.
    from .tokenizer import TextTokenizer

    return (TextTokenizer(),)


def resolve_parser(parser: str = "auto", benepar_model: str | None = None) -> tuple[str, str | None]:
    """Which back end runs (``"benepar"`` or ``"dependency"``) and the benepar model path, if any."""
    from .nlp import BENEPAR_MODEL_ENV, find_benepar_model

    if parser not in PARSERS:
        raise AttnmodError(f"unknown parser {parser!r}; choose one of {', '.join(PARSERS)}")
    if parser == "dependency":
        return "dependency", None
    model = find_benepar_model(benepar_model)
    if model is None:
        if parser == "benepar":
            raise AttnmodError(
                f"the benepar parser needs a model: pass --benepar-model PATH or set {BENEPAR_MODEL_ENV} "
                "(trained models cannot be downloaded here; use --parser dependency)"
            )
        return "dependency", None
    return "benepar", model


def parse_prompt(
    prompt: str,
    tokenizers: Sequence | None = None,
    parser: str = "auto",
    benepar_model: str | None = None,
    spacy_model: str | None = None,
) -> PromptTree:
    """Parse one prompt into a :class:`PromptTree` aligned to ``tokenizers`` (default: the CLIP tokenizer)."""
    return parse_prompts([prompt], tokenizers, parser=parser, benepar_model=benepar_model, spacy_model=spacy_model)[0]


def parse_prompts(
    prompts: Sequence[str],
    tokenizers: Sequence | None = None,
    parser: str = "auto",
    benepar_model: str | None = None,
    spacy_model: str | None = None,
    batch_size: int = 256,
    progress: bool = False,
) -> list[PromptTree]:
    """Parse many prompts in one pass of the spaCy pipeline (``nlp.pipe`` batches), in order.

    ``tokenizers``: the pipeline's tokenizers (``LoadedModel.tokenizers``); positions follow the first and a
    warning is recorded where the others disagree.
    """
    if isinstance(prompts, str):
        prompts = [prompts]
    for index, prompt in enumerate(prompts):
        problem = check_prompt(prompt)
        if problem:
            raise AttnmodError(f"prompt {index + 1}: {problem}" if len(prompts) > 1 else problem)
    tokenizers = list(tokenizers) if tokenizers else list(_default_tokenizers())
    backend, model = resolve_parser(parser, benepar_model)
    cleaned = [_clean(prompt) for prompt in prompts]
    texts = [text for text, _ in cleaned]
    if backend == "benepar":
        drafts = _benepar_drafts(texts, model, spacy_model, batch_size, progress)
    else:
        drafts = [(d, "dependency") for d in _dependency_drafts(texts, spacy_model, batch_size, progress)]
    trees = []
    for prompt, (text, notes), (draft, used) in zip(prompts, cleaned, drafts, strict=True):
        notes = notes + _language_notes(text) + draft.warnings
        trees.append(_finish(prompt, draft, tokenizers, used, notes))
    return trees


def tree_from_constituency(prompt: str | None, trees, tokenizers: Sequence | None = None) -> PromptTree:
    """A :class:`PromptTree` from constituency parses you already have: bracketed strings or ``nltk.Tree``
    objects (one per sentence), whose leaves appear in ``prompt`` in order (``None``: the leaves joined by spaces).

    ``tree_from_constituency("a bowl of green apples", "(NP (NP (DT a) (NN bowl)) (PP (IN of) (NP (JJ green)
    (NNS apples))))")`` gives "bowl" with "apples" (attribute "green") nested in it. ``parser`` is "benepar".
    """
    import nltk

    from .constituency import build_from_constituency, words_from_tree

    if isinstance(trees, (str, nltk.Tree)):
        trees = [trees]
    parsed = [nltk.Tree.fromstring(t) if isinstance(t, str) else t for t in trees]
    if not parsed:
        raise AttnmodError("no constituency tree given")
    joined = nltk.Tree("TOP", parsed) if len(parsed) > 1 else parsed[0]
    try:
        prompt, words = words_from_tree(joined, prompt)
    except ValueError as error:
        raise AttnmodError(str(error)) from error
    draft = build_from_constituency(parsed, words)
    tokenizers = list(tokenizers) if tokenizers else list(_default_tokenizers())
    return _finish(prompt, draft, tokenizers, "benepar", [])


def _progress(items: Iterable, total: int, enabled: bool) -> Iterable:
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, total=total, desc="parse", unit="prompt")


def _dependency_drafts(texts: list[str], spacy_model: str | None, batch_size: int, progress: bool) -> list[DraftTree]:
    from .nlp import load_spacy

    # The pipeline first: load_spacy imports spaCy without torch when nothing needs it (start-up time), and
    # parser_components imports spaCy at its top.
    pipeline = load_spacy(spacy_model)
    from .components import DEPENDENCY_COMPONENT, REPAIR_COMPONENT, with_component

    nlp = with_component(with_component(pipeline, REPAIR_COMPONENT, before=DEPENDENCY_COMPONENT), DEPENDENCY_COMPONENT)
    docs = nlp.pipe(texts, batch_size=batch_size)
    return [doc._.attnmod_draft for doc in _progress(docs, len(texts), progress)]


def _dependency_fallback(doc, why: str):
    """The dependency back end's draft of ``doc``, with a warning saying why benepar was not used."""
    from .dependency import build_from_dependency

    draft = build_from_dependency(doc)
    draft.warnings.append(f"{why}; parsed with the dependency back end")
    return draft


def _benepar_drafts(
    texts: list[str], model: str, spacy_model: str | None, batch_size: int, progress: bool
) -> list[tuple[DraftTree, str]]:
    """Constituency drafts; a prompt benepar cannot take (too long, or it fails) goes to the dependency builder.

    Two stages: spaCy's own components (tags, lemmas, sentences) on the text; then, on the prompt's words alone
    (benepar rejects whitespace tokens), ``benepar`` and the ``attnmod_constituency_tree`` component after it.
    """
    from .nlp import load_benepar

    nlp = load_benepar(model, spacy_model)
    from .components import BENEPAR_COMPONENT, CONSTITUENCY_COMPONENT, REPAIR_COMPONENT, with_component, words_only

    with_component(nlp, REPAIR_COMPONENT, before=BENEPAR_COMPONENT)
    with_component(nlp, CONSTITUENCY_COMPONENT)
    constituency = [nlp.get_pipe(name) for name in (BENEPAR_COMPONENT, CONSTITUENCY_COMPONENT)]
    results: list[tuple[DraftTree, str]] = []
    with nlp.select_pipes(disable=[BENEPAR_COMPONENT, CONSTITUENCY_COMPONENT]):
        docs = nlp.pipe(texts, batch_size=batch_size)
        for doc in _progress(docs, len(texts), progress):
            tokens = [t for t in doc if not t.is_space]
            if not tokens:
                results.append((DraftTree(words=[]), "benepar"))
                continue
            sentences = _sentences(tokens)
            longest = max(len(s) for s in sentences)
            if longest > BENEPAR_MAX_WORDS:
                why = f"a sentence of {longest} words is too long for benepar (limit {BENEPAR_MAX_WORDS})"
                results.append((_dependency_fallback(doc, why), "dependency"))
                continue
            words_doc = words_only(doc)
            try:
                for component in constituency:
                    words_doc = component(words_doc)
                draft = words_doc._.attnmod_draft
            except Exception as error:  # benepar's own limits and errors must not reach the user
                detail = str(error).splitlines()[0][:120] if str(error) else ""
                why = f"benepar failed ({type(error).__name__}: {detail})"
                results.append((_dependency_fallback(doc, why), "dependency"))
                continue
            # The words-only doc puts one space after each word: give the words back their places in the prompt.
            draft.words = [
                dataclasses.replace(word, start=token.idx, end=token.idx + len(token.text))
                for word, token in zip(draft.words, tokens, strict=True)
            ]
            results.append((draft, "benepar"))
    return results


def _sentences(tokens: list) -> list[list]:
    sentences: list[list] = []
    for k, token in enumerate(tokens):
        if k == 0 or token.is_sent_start:
            sentences.append([])
        sentences[-1].append(token)
    return sentences


def _span(words: list[Word], indices: Sequence[int]) -> tuple[int, int]:
    return min(words[i].start for i in indices), max(words[i].end for i in indices)


def _finish(prompt: str, draft: DraftTree, tokenizers: Sequence, parser: str, notes: list[str]) -> PromptTree:
    """Turn a draft over words into the public tree: prompt order, spans, token positions, truncation."""
    alignments, alignment_notes = align_prompt(prompt, tokenizers)
    alignment: TokenAlignment = alignments[0]
    words = draft.words
    order = sorted(range(len(draft.entities)), key=lambda k: _span(words, draft.entities[k].name))
    new_index = {old: new for new, old in enumerate(order)}
    entities = []
    for old in order:
        draft_entity = draft.entities[old]
        start, end = _span(words, draft_entity.name)
        tokens, cut = alignment.positions(start, end)
        name_words = [words[i] for i in draft_entity.name]
        noun = " ".join([w.lower for w in name_words[:-1]] + [name_words[-1].lemma or name_words[-1].lower])
        attributes = []
        for attribute_words in sorted(draft_entity.attributes, key=lambda a: words[a[0]].start):
            a_start, a_end = _span(words, attribute_words)
            a_tokens, a_cut = alignment.positions(a_start, a_end)
            attributes.append(
                Attribute(text=prompt[a_start:a_end], span=(a_start, a_end), tokens=a_tokens, truncated=a_cut)
            )
        entities.append(
            Entity(
                noun=noun,
                text=prompt[start:end],
                span=(start, end),
                attributes=tuple(attributes),
                parent=None if draft_entity.parent is None else new_index[draft_entity.parent],
                tokens=tokens,
                truncated=cut,
                absent=draft_entity.absent,
            )
        )
    warnings = list(notes) + alignment_notes
    truncated = any(a.truncated for a in alignments)
    if truncated:
        cut_entities = [e.text for e in entities if e.truncated]
        message = f"the prompt has {alignment.length} tokens; the text encoder keeps the first {alignment.capacity}"
        if cut_entities:
            # Name a few, not hundreds: a long prompt would otherwise be echoed back almost whole.
            distinct = list(dict.fromkeys(cut_entities))
            named = ", ".join(repr(text) for text in distinct[:NAMED_IN_WARNINGS])
            if len(distinct) > NAMED_IN_WARNINGS:
                named += f" and {len(distinct) - NAMED_IN_WARNINGS} more"
            message += f"; {len(cut_entities)} entities lie past the limit (marked truncated): {named}"
        warnings.append(message)
    if not entities:
        warnings.append("no entities found")
    style = tuple(prompt[slice(*_span(words, unit))] for unit in sorted(draft.style, key=lambda u: words[u[0]].start))
    return PromptTree(
        prompt=prompt,
        entities=tuple(entities),
        parser=parser,
        truncated=truncated,
        warnings=tuple(dict.fromkeys(warnings)),
        style=style,
    )


def read_prompt_file(path) -> tuple[list[tuple[int, str]], list[str]]:
    """Prompts from a file, with their line numbers, and one message per line that could not be read.

    ``.jsonl``: one JSON object per line with a ``prompt`` string. Anything else: one prompt per line. Blank
    lines are skipped. A bad line (not UTF-8, not JSON, no ``prompt``, too long) is reported, the rest are kept.
    """
    import json
    from pathlib import Path

    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise AttnmodError(f"cannot read {path}: {error.strerror or error}") from error
    is_jsonl = path.suffix.lower() == ".jsonl"
    prompts: list[tuple[int, str]] = []
    problems: list[str] = []
    for number, line_bytes in enumerate(raw.split(b"\n"), start=1):
        line_bytes = line_bytes.removesuffix(b"\r")
        if number == 1:
            line_bytes = line_bytes.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte-order mark
        try:
            line = line_bytes.decode("utf-8")
        except UnicodeDecodeError as error:
            problems.append(f"{path.name}:{number}: not UTF-8 text (byte {error.start + 1})")
            continue
        if not line.strip():
            continue
        if is_jsonl:
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                problems.append(f"{path.name}:{number}: not JSON ({error.msg} at column {error.colno})")
                continue
            if not isinstance(record, dict) or "prompt" not in record:
                problems.append(f'{path.name}:{number}: a JSON object with a "prompt" field is expected')
                continue
            line = record["prompt"]
        problem = check_prompt(line)
        if problem:
            problems.append(f"{path.name}:{number}: {problem}")
            continue
        prompts.append((number, line))
    return prompts, problems


def render_tree(tree: PromptTree) -> str:
    """The tree as indented text: each entity under its parent, with attributes and token positions."""
    lines = [f"{tree.prompt!r}  [{tree.parser}]"]
    if tree.style:
        lines.append(f"  style: {', '.join(tree.style)}")

    def describe(index: int, depth: int) -> None:
        entity = tree.entities[index]
        attributes = ", ".join(f"{a.text} {list(a.tokens)}" for a in entity.attributes)
        text = f"{'  ' * depth}- {entity.text} {list(entity.tokens)}"
        if entity.noun != entity.text.lower():
            text += f" (noun: {entity.noun})"
        if attributes:
            text += f"  attributes: {attributes}"
        if entity.truncated:
            text += "  [truncated]"
        if entity.absent:
            text += "  [absent: negated]"
        lines.append(text)
        for child in tree.children(index):
            describe(child, depth + 1)

    for top in tree.children(None):
        describe(top, 1)
    for warning in tree.warnings:
        lines.append(f"  warning: {warning}")
    return "\n".join(lines)
