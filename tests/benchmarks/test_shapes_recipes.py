"""benchmarks/shapes_recipes.py: recipe options and the per-recipe summary over training seeds (planted figures)."""

import pytest
from places import load_benchmark


@pytest.fixture(scope="module")
def recipes():
    return load_benchmark("shapes_recipes")


def test_recipe_options_parse_and_refuse_what_the_script_sets(recipes):
    assert recipes.parse_recipes(None, smoke=False) == recipes.RECIPES
    assert "--preset wide" in recipes.RECIPES["wide"] and recipes.RECIPES["shipped"] in recipes.RECIPES["wide"]
    parsed = recipes.parse_recipes(["lr-1e3=--vae-from shapes --learning-rate 1e-3", "b=--preset wide"], smoke=False)
    assert parsed == {"lr-1e3": "--vae-from shapes --learning-rate 1e-3", "b": "--preset wide"}
    for item, message in [
        ("no-equals-sign", "give NAME=ARGS"),
        ("=--preset wide", "give NAME=ARGS"),
        ("a/b=--preset wide", "give NAME=ARGS"),
        ("x=--seed 3", "--out and --seed are set by this script"),
        ("x=--out elsewhere", "--out and --seed are set by this script"),
    ]:
        with pytest.raises(ValueError, match=message):
            recipes.parse_recipes([item], smoke=False)


def _run(recipe, seed, both_present, shapes_present=None):
    metrics = {"all_present@seen-2/tune": {"mean": both_present}}
    if shapes_present is not None:
        metrics["shapes_present@seen-2/tune"] = {"mean": shapes_present}
    return {"recipe": recipe, "seed": seed, "metrics": metrics, "final_loss": 0.7}


def test_per_recipe_mean_and_range_over_seeds(recipes):
    runs = [_run("a", 0, 0.2, 0.5), _run("a", 1, 0.4, 0.7), _run("a", 2, 0.3), _run("b", 0, 0.6)]
    runs.append({"recipe": "b", "seed": 1, "error": "training exited with 1"})
    table = recipes.per_recipe(runs)
    assert table["a"]["all_present@seen-2/tune"] == pytest.approx({"mean": 0.3, "min": 0.2, "max": 0.4, "seeds": 3})
    assert table["a"]["shapes_present@seen-2/tune"] == pytest.approx({"mean": 0.6, "min": 0.5, "max": 0.7, "seeds": 2})
    assert table["b"]["all_present@seen-2/tune"] == {"mean": 0.6, "min": 0.6, "max": 0.6, "seeds": 1}
    report = {"machine": "m", "sets": "s", "image_seeds": "0,1", "runs": runs, "recipes": table}
    text = recipes.markdown(report)
    assert "| a | 3 | n/a | 30.0 (20.0-40.0) | 60.0 (50.0-70.0) | n/a |" in text
    assert "| b seed 1 | training exited with 1 |" in text
