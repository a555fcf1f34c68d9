"""The benepar back end end to end, with a randomly initialised character-LSTM parser built here.

A random parser's trees are garbage, so these tests check the plumbing: the model loads (as a single file and as
a release folder) through the spaCy component, ``parser`` says "benepar", spans and tokens are consistent, and
benepar's limits fall back to the dependency back end with a warning instead of an exception.
"""

from __future__ import annotations

import json
import warnings

import pytest
import torch
from attnmod.toolkit.errors import AttnmodError
from attnmod.toolkit.prompt.nlp import (
    BENEPAR_MODEL_ENV,
    check_benepar_model,
    find_benepar_model,
    install_tokenizer_shim,
)
from attnmod.toolkit.prompt.parse import BENEPAR_MAX_WORDS, parse_prompt, parse_prompts, resolve_parser

LABELS = ["", "S", "NP", "VP", "PP", "ADJP", "SBAR", "S::VP", "ADVP", "WHNP", "NP::NP"]


def random_char_lstm_parser():
    """A small benepar ChartParser with a character LSTM and no pretrained model (no files to download), with
    weights drawn from seed 0 and the labels of LABELS."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from benepar import nkutil, parse_chart

    hparams = nkutil.HParams(
        d_model=32,
        use_chars_lstm=True,
        use_pretrained=False,
        pretrained_model="none",
        d_char_emb=8,
        char_lstm_input_dropout=0.0,
        use_encoder=True,
        morpho_emb_dropout=0.0,
        encoder_max_len=512,
        num_heads=2,
        d_kv=8,
        d_ff=32,
        relu_dropout=0.0,
        residual_dropout=0.0,
        attention_dropout=0.0,
        num_layers=1,
        d_label_hidden=16,
        predict_tags=False,
        d_tag_hidden=16,
        tag_loss_scale=1.0,
        force_root_constituent=True,
    )
    torch.manual_seed(0)
    return parse_chart.ChartParser(
        tag_vocab={"UNK": 0},
        label_vocab={label: i for i, label in enumerate(LABELS)},
        char_vocab={chr(i): i for i in range(256)},
        hparams=hparams,
    )


@pytest.fixture(scope="module")
def benepar_model(tmp_path_factory):
    """A random char-LSTM ChartParser saved both ways: {"config", "state_dict"} file and release folder."""
    parser = random_char_lstm_parser()
    folder = tmp_path_factory.mktemp("benepar")
    single = folder / "random_char_lstm.pt"
    torch.save({"config": parser.config, "state_dict": parser.state_dict()}, single)
    release = folder / "release"
    release.mkdir()
    (release / "config.json").write_text(json.dumps({"model_type": "bert", "benepar": parser.config}))
    torch.save(parser.state_dict(), release / "benepar_model.bin")
    return {"file": str(single), "folder": str(release)}


def check_consistent(tree) -> None:
    for entity in tree.entities:
        assert tree.prompt[entity.span[0] : entity.span[1]] == entity.text
        assert entity.parent is None or 0 <= entity.parent < len(tree.entities)
        for attribute in entity.attributes:
            assert tree.prompt[attribute.span[0] : attribute.span[1]] == attribute.text
    json.dumps(tree.to_json())


@pytest.mark.parametrize("form", ["file", "folder"])
def test_benepar_runs_end_to_end(benepar_model, form):
    prompts = ["a girl in a yellow dress holding a red balloon", "a red car and a blue bus. A dog sleeps."]
    trees = parse_prompts(prompts, parser="benepar", benepar_model=benepar_model[form])
    assert [t.parser for t in trees] == ["benepar", "benepar"]
    assert [t.prompt for t in trees] == prompts
    for tree in trees:
        check_consistent(tree)
        assert not any("failed" in w for w in tree.warnings)


def test_auto_picks_benepar_from_the_environment(benepar_model, monkeypatch):
    monkeypatch.setenv(BENEPAR_MODEL_ENV, benepar_model["file"])
    assert resolve_parser("auto") == ("benepar", benepar_model["file"])
    assert parse_prompt("a red car").parser == "benepar"
    # an explicit --parser dependency still wins
    assert parse_prompt("a red car", parser="dependency").parser == "dependency"


def test_auto_falls_back_to_dependency_without_a_model(monkeypatch):
    monkeypatch.delenv(BENEPAR_MODEL_ENV, raising=False)
    assert resolve_parser("auto") == ("dependency", None)
    with pytest.raises(AttnmodError, match="needs a model"):
        resolve_parser("benepar")
    with pytest.raises(AttnmodError, match="unknown parser"):
        resolve_parser("stanza")


def test_missing_model_path_is_an_error(tmp_path, monkeypatch):
    with pytest.raises(AttnmodError, match="not found"):
        find_benepar_model(tmp_path / "nothing.pt")
    monkeypatch.setenv(BENEPAR_MODEL_ENV, str(tmp_path / "gone"))
    with pytest.raises(AttnmodError, match=BENEPAR_MODEL_ENV):
        find_benepar_model()


class _NotWeights:
    pass


def test_model_files_that_need_unpickling_are_refused(tmp_path):
    rogue = tmp_path / "rogue.pt"
    torch.save({"config": _NotWeights(), "state_dict": {}}, rogue)
    with pytest.raises(AttnmodError, match="safely"):
        check_benepar_model(str(rogue))
    not_benepar = tmp_path / "plain.pt"
    torch.save({"weights": torch.zeros(2)}, not_benepar)
    with pytest.raises(AttnmodError, match="not a benepar checkpoint"):
        check_benepar_model(str(not_benepar))
    empty_folder = tmp_path / "folder"
    empty_folder.mkdir()
    with pytest.raises(AttnmodError, match="config.json"):
        check_benepar_model(str(empty_folder))


def test_sentences_over_the_benepar_limit_fall_back_to_dependency(benepar_model):
    long_prompt = " ".join(["a red car and a blue bus and"] * 40) + " a dog"
    assert len(long_prompt.split()) > BENEPAR_MAX_WORDS
    tree = parse_prompt(long_prompt, parser="benepar", benepar_model=benepar_model["file"])
    assert tree.parser == "dependency"
    assert any("too long for benepar" in w for w in tree.warnings)
    assert tree.truncated and tree.entities[-1].truncated
    check_consistent(tree)


def test_benepar_survives_bad_input(benepar_model):
    # whitespace tokens and odd characters never reach benepar as words
    prompts = [
        "",
        "   ",
        "\n\n",
        "!!!",
        "🐶🐱",
        "a  red\n\n car\t\tand a dog",
        "(a) [red] {car}",
        "猫と犬",
        "<b>a cat</b>",
    ]
    trees = parse_prompts(prompts, parser="benepar", benepar_model=benepar_model["file"])
    for prompt, tree in zip(prompts, trees, strict=True):
        assert tree.prompt == prompt
        assert tree.parser == "benepar"
        assert not any("failed" in w for w in tree.warnings), tree.warnings
        check_consistent(tree)


def _tiny_bert_tokenizer(tmp_path):
    from transformers import BertTokenizer

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "red", "car", "x", "y"]
    path = tmp_path / "vocab.txt"
    path.write_text("\n".join(vocab) + "\n")
    return BertTokenizer(vocab_file=str(path))


def test_tokenizer_shim_places_special_tokens_like_the_tokenizer(tmp_path):
    install_tokenizer_shim()
    bert = _tiny_bert_tokenizer(tmp_path)
    assert bert.build_inputs_with_special_tokens([7, 8]) == [2, 7, 8, 3]
    assert bert.build_inputs_with_special_tokens([7], [9]) == [2, 7, 3, 9, 3]
    # benepar's Retokenizer finds the placeholder to count prefix/suffix special tokens
    dummy = bert.build_inputs_with_special_tokens([-100])
    assert dummy.index(-100) == 1 and len(dummy) == 3
    from attnmod.toolkit.prompt.tokenizer import build_clip_tokenizer

    clip = build_clip_tokenizer()
    assert clip.build_inputs_with_special_tokens([320, 736]) == [49406, 320, 736, 49407]
    assert clip("a red", add_special_tokens=True)["input_ids"] == [49406, 320, 736, 49407]


@pytest.fixture(scope="module")
def flat_np_model(tmp_path_factory):
    """A char-LSTM parser whose label scores make every sentence one flat NP: "" (score 0) beats every label inside
    a sentence, and the forced root constituent takes NP, the least negative label. Its trees are known in advance:
    ``(NP (CD two) (JJ red) (NNS apples) ...)``, with spaCy's tags as preterminals."""
    parser = random_char_lstm_parser()
    with torch.no_grad():
        scores = parser.f_label[-1]  # one output per label but "" (index 0, score fixed at 0)
        scores.weight.zero_()
        scores.bias.fill_(-10.0)
        scores.bias[LABELS.index("NP") - 1] = -1.0
    path = tmp_path_factory.mktemp("flat-np") / "flat_np.pt"
    torch.save({"config": parser.config, "state_dict": parser.state_dict()}, path)
    return str(path)


def test_the_constituency_component_builds_the_tree_from_benepars_parse(flat_np_model):
    from attnmod.toolkit.prompt.components import (
        BENEPAR_COMPONENT,
        CONSTITUENCY_COMPONENT,
        with_component,
        words_only,
    )
    from attnmod.toolkit.prompt.nlp import load_benepar

    nlp = with_component(load_benepar(flat_np_model), CONSTITUENCY_COMPONENT)
    assert nlp.pipe_names[-2:] == [BENEPAR_COMPONENT, CONSTITUENCY_COMPONENT]
    with nlp.select_pipes(disable=[BENEPAR_COMPONENT, CONSTITUENCY_COMPONENT]):
        tagged = nlp("two red apples and a dog")
    doc = words_only(tagged)
    for name in (BENEPAR_COMPONENT, CONSTITUENCY_COMPONENT):
        doc = nlp.get_pipe(name)(doc)
    assert [sentence._.parse_string for sentence in doc.sents] == [
        "(NP (CD two) (JJ red) (NNS apples) (CC and) (DT a) (NN dog))"
    ]
    draft = doc._.attnmod_draft
    assert [(w.text, w.tag, w.lemma) for w in draft.words] == [
        ("two", "CD", "two"), ("red", "JJ", "red"), ("apples", "NNS", "apple"), ("and", "CC", "and"),
        ("a", "DT", "a"), ("dog", "NN", "dog"),
    ]  # fmt: skip
    words = [w.text for w in draft.words]
    assert [([words[i] for i in e.name], [[words[i] for i in a] for a in e.attributes], e.parent) for e in
            draft.entities] == [(["apples"], [["two"], ["red"]], None), (["dog"], [], None)]  # fmt: skip


def test_benepar_trees_keep_the_prompts_character_offsets(flat_np_model):
    # benepar sees the words alone; spans must still point into the prompt with its runs of whitespace
    prompt = "two  red apples\n\n and   a dog"
    tree = parse_prompt(prompt, parser="benepar", benepar_model=flat_np_model)
    assert tree.parser == "benepar" and tree.warnings == ()
    apples, dog = prompt.index("apples"), prompt.index("dog")
    assert [(e.span, e.noun, e.parent) for e in tree.entities] == [
        ((apples, apples + len("apples")), "apple", None),
        ((dog, dog + len("dog")), "dog", None),
    ]
    assert [(a.text, a.span) for a in tree.entities[0].attributes] == [
        ("two", (0, 3)),
        ("red", (prompt.index("red"), prompt.index("red") + 3)),
    ]


def test_benepar_reads_the_repaired_tags_and_lemmas(benepar_model):
    from attnmod.toolkit.prompt.components import (
        BENEPAR_COMPONENT,
        CONSTITUENCY_COMPONENT,
        REPAIR_COMPONENT,
        words_only,
    )
    from attnmod.toolkit.prompt.nlp import load_benepar

    parse_prompts(["a bowl of ramen"], parser="benepar", benepar_model=benepar_model["file"])
    nlp = load_benepar(benepar_model["file"], None)  # the pipeline the parse used (cached per model and spaCy name)
    assert nlp.pipe_names.index(REPAIR_COMPONENT) < nlp.pipe_names.index(BENEPAR_COMPONENT)
    with nlp.select_pipes(disable=[BENEPAR_COMPONENT, CONSTITUENCY_COMPONENT]):
        doc = words_only(nlp("a woman handing a red rose to a bowl of ramen"))
    # what benepar is given: "rose" a noun (the small model tags it as the past of "rise"), "ramen" not "raman"
    assert doc[5].text == "rose" and doc[5].tag_ == "NN" and doc[5].lemma_ == "rose"
    assert doc[-1].text == "ramen" and doc[-1].lemma_ == "ramen"
