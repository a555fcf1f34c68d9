"""Bad input gives a valid tree with a warning, or one clear error line; never a traceback. And `attnmod parse`."""

from __future__ import annotations

import json

import pytest
from attnmod.toolkit.errors import AttnmodError
from attnmod.toolkit.prompt.parse import MAX_PROMPT_CHARS, parse_prompt, parse_prompts, read_prompt_file
from attnmod.toolkit.prompt.tree import PromptTree

WORDS = ["red", "car", "blue", "bus", "with", "a", "small", "dog", "near", "the", "old", "wooden", "house", "and"]
FIVE_HUNDRED_WORDS = " ".join(WORDS[i % len(WORDS)] for i in range(500))


def valid(tree: PromptTree, prompt: str) -> None:
    assert tree.prompt == prompt
    assert PromptTree.loads(tree.dumps()) == tree
    for entity in tree.entities:
        assert prompt[entity.span[0] : entity.span[1]] == entity.text
        assert all(0 < t <= 75 for t in entity.tokens)
        for attribute in entity.attributes:
            assert prompt[attribute.span[0] : attribute.span[1]] == attribute.text


@pytest.mark.parametrize(
    ("prompt", "entities", "warning"),
    [
        ("", [], "no entities"),
        ("   \t  ", [], "no entities"),
        ("\n\n\n", [], "no entities"),
        ("!!! ??? ... ---", [], "no entities"),
        ("🐶🐱🎉 ✨", [], "no entities"),
        ("猫と犬が遊んでいる", None, "non-Latin"),
        ("Собака и кошка", None, "non-Latin"),
        ("a red\x00car\x07 and a\x1b blue bus", ["car", "bus"], "control characters"),
        ("a red car\u200b and a blue bus", ["car", "bus"], "control characters"),
        ("<b>a red car</b> &amp; <i>a blue bus</i>", ["car", "bus"], "HTML"),
        ("<script>alert(1)</script> a cat", ["cat"], "HTML"),
        ("a red car\nand a blue bus\r\n", ["car", "bus"], None),
        ("a red car.\n\nA blue bus.", ["car", "bus"], None),
        # spaCy's tokenizer is quadratic on one long run of punctuation: such runs are blanked
        ("<" * 20_000, [], "without a space"),
        ("see https://example.com/" + "x" * 120 + " a red car", ["car"], "without a space"),
    ],
)
def test_bad_input_gives_a_valid_tree(prompt, entities, warning):
    tree = parse_prompt(prompt, parser="dependency")
    valid(tree, prompt)
    if entities is not None:
        assert [e.text for e in tree.entities] == entities
    if warning:
        assert any(warning in w for w in tree.warnings), tree.warnings
    else:
        assert not tree.warnings


def test_non_english_latin_script_still_parses():
    tree = parse_prompt("ein roter Hund und eine blaue Katze", parser="dependency")
    valid(tree, tree.prompt)
    assert tree.entities  # a tree the user can inspect, and a warning that says why it is probably wrong
    assert any("German" in w and "English-only" in w for w in tree.warnings), tree.warnings


def test_html_keeps_original_offsets():
    prompt = "<b>a red car</b>"
    tree = parse_prompt(prompt)
    assert tree.entities[0].span == (9, 12)
    assert tree.entities[0].attributes[0].span == (5, 8)


def test_five_hundred_words():
    tree = parse_prompt(FIVE_HUNDRED_WORDS)
    valid(tree, FIVE_HUNDRED_WORDS)
    assert tree.truncated
    assert sum(e.truncated for e in tree.entities) > 50
    assert any("keeps the first 75" in w for w in tree.warnings)


def test_too_long_and_non_text_are_clear_errors():
    with pytest.raises(AttnmodError, match="at most"):
        parse_prompt("a" * (MAX_PROMPT_CHARS + 1))
    with pytest.raises(AttnmodError, match="must be text"):
        parse_prompt(42)
    with pytest.raises(AttnmodError, match="prompt 2"):
        parse_prompts(["a cat", None])


def test_read_prompt_file_reports_bad_lines(tmp_path):
    text = tmp_path / "prompts.txt"
    text.write_bytes(b"\xef\xbb\xbfa red car\r\n\r\na blue \xff bus\r\n" + b"x" * (MAX_PROMPT_CHARS + 1) + b"\na dog")
    prompts, problems = read_prompt_file(text)
    assert prompts == [(1, "a red car"), (5, "a dog")]
    assert [p.split(":")[1] for p in problems] == ["3", "4"]
    lines = tmp_path / "prompts.jsonl"
    lines.write_text(
        '{"prompt": "a red car"}\nnot json\n{"text": "x"}\n["a cat"]\n{"prompt": 3}\n{"prompt": "a dog"}\n'
    )
    prompts, problems = read_prompt_file(lines)
    assert prompts == [(1, "a red car"), (6, "a dog")]
    assert [p.split(":")[1] for p in problems] == ["2", "3", "4", "5"]
    with pytest.raises(AttnmodError, match="cannot read"):
        read_prompt_file(tmp_path / "missing.txt")


# ---- the command line ---------------------------------------------------------------------------------------


def test_cli_json_schema(run_cli):
    result = run_cli("parse", "a woman with a green scarf", "--format", "json", "--parser", "dependency")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) >= {"prompt", "parser", "truncated", "warnings", "entities"}
    assert data["parser"] == "dependency" and data["truncated"] is False
    woman, scarf = data["entities"]
    assert set(woman) >= {"noun", "text", "span", "attributes", "parent", "tokens"}
    assert woman["parent"] is None and scarf["parent"] == 0
    assert scarf["attributes"] == [{"text": "green", "span": [15, 20], "tokens": [5], "truncated": False}]
    assert scarf["tokens"] == [6] and scarf["span"] == [21, 26]


def test_cli_tree_and_jsonl(run_cli):
    result = run_cli("parse", "a bowl of green apples", "a photo of a cat")
    assert result.exit_code == 0
    assert "- bowl [2]" in result.stdout and "    - apples [5]" in result.stdout
    assert "style: photo" in result.stdout
    result = run_cli("parse", "a red car", "", "--format", "jsonl")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["prompt"] for r in rows] == ["a red car", ""]
    assert rows[1]["entities"] == [] and rows[1]["warnings"] == ["no entities found"]


def test_cli_file_with_bad_lines(run_cli, tmp_path):
    path = tmp_path / "prompts.jsonl"
    path.write_text('{"prompt": "a red car"}\n{"prompt": \n{"prompt": "a blue bus"}\n')
    result = run_cli("parse", "--file", str(path), "--format", "jsonl")
    assert result.exit_code == 1
    assert [json.loads(line)["prompt"] for line in result.stdout.splitlines()] == ["a red car", "a blue bus"]
    assert "prompts.jsonl:2:" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give a prompt"),
        (("a cat", "--parser", "benepar"), "needs a model"),
        (("a cat", "--benepar-model", "/nonexistent/model.pt"), "not found"),
        (("a cat", "--spacy-model", "xx_no_such_pipeline"), "not installed"),
        (("--file", "/nonexistent/prompts.txt"), "cannot read"),
    ],
)
def test_cli_errors_are_one_line(run_cli, monkeypatch, args, message):
    monkeypatch.delenv("ATTNMOD_BENEPAR_MODEL", raising=False)
    result = run_cli("parse", *args)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0]
