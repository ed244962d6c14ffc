"""AttrPrompt's first step: lists the LLM writes are parsed robustly, and a label left without
attribute values is an error rather than silently unconditioned data."""

import pytest
from params_helpers import repo_params
from test_prompts_generation import TASK

from synthclf.attributes import parse_list, propose_attributes
from synthclf.errors import SynthclfError
from synthclf.methods import load_method_prompts
from synthclf.params import AttributesParams


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1. Acting\n2. Music\n3. Plot", ["Acting", "Music", "Plot"]),
        ("Sure! Here are some subtopics:\n\n- **Acting**\n- \"Music\"\n- acting\n", ["Acting", "Music"]),
        ("acting, music, special effects.", ["acting", "music", "special effects"]),
        ("a) Acting.\nb) Subtopic: Music;", ["Acting", "Music"]),
        ("Here is a long sentence of prose that is not a list item at all, clearly\n1. Plot", ["Plot"]),
        ("", []),
    ],
)
def test_parse_list_keeps_items_and_drops_chatter(text, expected):
    assert parse_list(text) == expected


class ListModel:
    """Answers every request with a list, except requests that mention ``silent_on``."""

    model_id = "lists"

    def __init__(self, silent_on: str = "\0"):
        self.silent_on = silent_on
        self.prompts: list[str] = []

    async def complete(self, messages, *, seed, index, parse=None, cut=None):
        prompt = messages[-1]["content"]
        self.prompts.append(prompt)
        if self.silent_on in prompt:
            return None
        # Small models often repeat the instruction, or drift into a sentence, before the answer.
        dimensions = "1. Other ways in which they can differ\n2. The numbering of your text is wrong\n3. Tone\n4. Audience"
        answer = dimensions if "other ways" in prompt else f"1. first {index}\n2. second {index}\n3. third {index}"
        return parse(answer) if parse else answer


def test_propose_attributes_asks_for_dimensions_then_values_per_label():
    prompts = load_method_prompts().attributed
    params = repo_params(AttributesParams, dimensions=["subtopic"], proposed_dimensions=1, values_per_dimension=2)
    model = ListModel()
    attributes = propose_attributes(TASK, model, params, prompts, seed=0)
    assert attributes["dimensions"] == ["subtopic", "tone"]
    assert set(attributes["values"]) == {"positive", "negative"}
    assert all(len(values) == 2 for by_dim in attributes["values"].values() for values in by_dim.values())
    assert len(model.prompts) == 1 + 2 * 2 and attributes["missing"] == []


def test_a_label_without_any_values_is_an_error():
    prompts = load_method_prompts().attributed
    params = repo_params(AttributesParams, dimensions=["subtopic"], proposed_dimensions=0)
    with pytest.raises(SynthclfError, match="negative"):
        propose_attributes(TASK, ListModel(silent_on="pans the film"), params, prompts, seed=0)


def test_a_broken_method_prompts_file_is_named(tmp_path):
    path = tmp_path / "methods.yaml"
    path.write_text("attributed:\n  dimensions: x\n  values: y\ngrounded:\n  request: z\n")
    with pytest.raises(SynthclfError, match=r"methods\.yaml.*attributed.*request"):
        load_method_prompts(path)
