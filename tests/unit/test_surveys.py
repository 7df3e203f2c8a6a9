"""The AWX survey specs in awx/surveys/: valid by AWX's own rules, every default applied, and
every question a documented role variable of the same type and default."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.osworld.aws.plugins.module_utils._osworld.defaults import role_default
from tests.support.awx_survey import answer_errors, applied_defaults, spec_errors

REPO = Path(__file__).resolve().parents[2]
SURVEYS = REPO / "awx" / "surveys"
SURVEY_NAMES = ("provision", "envs", "teardown", "reap", "evaluate", "image")
BOOLEAN_CHOICES = {"false", "true"}


def load_survey(name: str) -> dict[str, Any]:
    return json.loads((SURVEYS / f"{name}.json").read_text())


def role_options() -> dict[str, dict[str, Any]]:
    """Every variable documented in a role's argument_specs (any entry point), by name."""
    options: dict[str, dict[str, Any]] = {}
    for spec_file in sorted(REPO.glob("roles/*/meta/argument_specs.yml")):
        for entry in yaml.safe_load(spec_file.read_text())["argument_specs"].values():
            for name, option in (entry.get("options") or {}).items():
                options.setdefault(name, option)
    return options


def role_defaults() -> dict[str, list[Any]]:
    """The values of each variable in the roles' defaults/main.yml: literal ones, and the shared
    ones the osworld.aws.default lookup gives (other templated values are left out)."""
    values: dict[str, list[Any]] = {}
    for defaults_file in sorted(REPO.glob("roles/*/defaults/main.yml")):
        for name, value in (yaml.safe_load(defaults_file.read_text()) or {}).items():
            if value == f"{{{{ lookup('osworld.aws.default', '{name}') }}}}":
                value = role_default(name, str(REPO))
            if not (isinstance(value, str) and "{{" in value):
                values.setdefault(name, []).append(value)
    return values


def as_variable(question: dict[str, Any], value: Any, option_type: str) -> Any:
    """What a role sees for a survey answer, after its argument spec's type conversion."""
    if question["type"] == "multiplechoice" and set(question["choices"]) == BOOLEAN_CHOICES:
        return value == "true"
    if option_type == "list" and isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def configured_templates() -> list[dict[str, Any]]:
    play = yaml.load((REPO / "awx" / "configure.yml").read_text(), Loader=yaml.BaseLoader)[0]
    return list(play["vars"]["osworld_awx_templates"])


@pytest.mark.parametrize("name", SURVEY_NAMES)
def test_awx_accepts_the_survey(name: str) -> None:
    assert spec_errors(load_survey(name)) == []


@pytest.mark.parametrize("name", SURVEY_NAMES)
def test_awx_applies_every_default(name: str) -> None:
    """AWX silently drops a default that fails its own answer check: none may be dropped."""
    survey = load_survey(name)
    applied = applied_defaults(survey)
    assert sorted(applied) == sorted(question["variable"] for question in survey["spec"])
    for question in survey["spec"]:
        assert answer_errors(question, applied) == []


@pytest.mark.parametrize("name", SURVEY_NAMES)
def test_questions_are_documented_role_variables(name: str) -> None:
    options = role_options()
    for question in load_survey(name)["spec"]:
        variable = question["variable"]
        assert variable.startswith("osworld_"), variable
        assert variable in options, f"{name}: {variable} is documented in no role's argument_specs"
        option_type = options[variable].get("type", "str")
        if question["type"] == "integer":
            assert option_type == "int", variable
        elif question["type"] == "multiplechoice" and set(question["choices"]) == BOOLEAN_CHOICES:
            assert option_type == "bool", variable
        else:
            assert option_type in ("str", "path", "list", "raw"), variable


@pytest.mark.parametrize("name", SURVEY_NAMES)
def test_survey_defaults_are_the_roles_defaults(name: str) -> None:
    """A job launched with the survey's defaults behaves as the playbook with no -e at all."""
    options, defaults = role_options(), role_defaults()
    for question in load_survey(name)["spec"]:
        variable = question["variable"]
        if variable not in defaults:
            continue
        seen = as_variable(question, question["default"], options[variable].get("type", "str"))
        # An empty text answer stands for "not set" (the roles read it with default(omit, true)).
        if seen == "" and question["required"] is False:
            continue
        assert seen in defaults[variable], f"{name}: {variable} defaults to {seen!r}, the roles to {defaults[variable]!r}"


def test_integer_bounds_hold_their_defaults() -> None:
    for name in SURVEY_NAMES:
        for question in load_survey(name)["spec"]:
            if question["type"] == "integer":
                assert question["min"] <= question["default"] <= question["max"], question["variable"]


def test_configure_yml_uses_each_survey_for_its_playbook() -> None:
    templates = configured_templates()
    assert sorted(template["survey"] for template in templates) == sorted(SURVEY_NAMES)
    for template in templates:
        assert template["playbook"] == f"playbooks/{template['survey']}.yml"


# The validator must refuse what AWX refuses, or passing it proves nothing.
GOOD_QUESTION = {"question_name": "Count", "variable": "osworld_env_count", "type": "integer", "required": True, "default": 0}
BROKEN_SPECS: list[tuple[str, Any]] = [
    ("no name", lambda spec: spec.pop("name")),
    ("spec not a list", lambda spec: spec.update(spec={})),
    ("empty spec", lambda spec: spec.update(spec=[])),
    ("question without variable", lambda spec: spec["spec"][0].pop("variable")),
    ("required as a string", lambda spec: spec["spec"][0].update(required="true")),
    ("unknown type", lambda spec: spec["spec"][0].update(type="boolean")),
    ("integer default as a string", lambda spec: spec["spec"][0].update(default="3")),
    ("min as a string", lambda spec: spec["spec"][0].update(min="0")),
    ("duplicate variable", lambda spec: spec["spec"].append(dict(spec["spec"][0]))),
    ("choice without choices", lambda spec: spec["spec"][0].update(type="multiplechoice", default="a")),
    (
        "default not a choice",
        lambda spec: spec["spec"][0].update(type="multiplechoice", default="maybe", choices=["false", "true"]),
    ),
    (
        "two defaults for a single choice",
        lambda spec: spec["spec"][0].update(type="multiplechoice", default="false\ntrue", choices=["false", "true"]),
    ),
    ("encrypted default on a new spec", lambda spec: spec["spec"][0].update(type="password", default="$encrypted$")),
]


@pytest.mark.parametrize(("case", "breaks"), BROKEN_SPECS, ids=[case[0] for case in BROKEN_SPECS])
def test_validator_refuses_what_awx_refuses(case: str, breaks: Any) -> None:
    spec = {"name": "x", "description": "", "spec": [copy.deepcopy(GOOD_QUESTION)]}
    assert spec_errors(spec) == []
    breaks(spec)
    assert spec_errors(spec) != [], case


def test_defaults_awx_would_drop_are_not_applied() -> None:
    question = {"variable": "osworld_fleet", "type": "text", "required": True, "default": "", "min": 1, "max": 64}
    choice = {"variable": "osworld_x", "type": "multiselect", "required": False, "default": "a", "choices": ["a"]}
    assert applied_defaults({"spec": [question, choice]}) == {}
