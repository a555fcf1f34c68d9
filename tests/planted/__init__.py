"""Planted inputs shared by the tests, in one place (tests/ is on the import path, as for tests/parsing_cases.py).

This module: prompt trees with hand-checked CLIP token positions (0 is the start token), for the tests that plant
attention maps or drive the modulation without a parser: ``from planted import CAT_DOG``, or the
``cat_dog_tree``/``man_hat_tree`` fixtures of conftest.py. ``planted.attention``: a planted diffusers attention module
and its written-out math; ``planted.runs``: a fake model stack for the run machinery; ``planted.records``: attention
records whose scores cover every part of the scores JSON; ``planted.scores``: a complete scores JSON around the few
rows a test plants."""

from __future__ import annotations

from attnmod.toolkit.prompt.tree import Attribute, Entity, PromptTree

#: "a red cat and a blue dog": two independent entities, one attribute each (a 2, red 2, cat 3, blue 6, dog 7).
CAT_DOG = PromptTree(
    "a red cat and a blue dog",
    (
        Entity("cat", "cat", (6, 9), (Attribute("red", (2, 5), (2,)),), None, (3,)),
        Entity("dog", "dog", (21, 24), (Attribute("blue", (16, 20), (6,)),), None, (7,)),
    ),
)
#: "a man with a red hat": the hat nested in the man (parent 0), its attribute "red" at 5, hat at 6.
MAN_HAT = PromptTree(
    "a man with a red hat",
    (
        Entity("man", "man", (2, 5), (), None, (2,)),
        Entity("hat", "hat", (17, 20), (Attribute("red", (13, 16), (5,)),), 0, (6,)),
    ),
)
