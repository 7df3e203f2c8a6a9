"""AWX's survey rules, restated for the tests: what AWX accepts as a survey spec, and which
defaults it turns into extra vars.

Read from AWX's source (github.com/ansible/awx at e21dd0a0933fd544d1fe2513c54fe41203775eb5):
- `JobTemplateSurveySpec._validate_spec_data` in awx/api/views/__init__.py: the checks a POST to
  /api/v2/job_templates/N/survey_spec/ runs (spec_errors below);
- `SURVEY_TYPE_MAPPING` in awx/main/constants.py: question types and the Python type of a default;
- `SurveyJobTemplateMixin._update_unified_job_kwargs` and `_survey_element_validation` in
  awx/main/models/mixins.py: a default becomes an extra var only when it passes the element
  validation, otherwise AWX drops it silently (applied_defaults below).
Re-expressed here, not copied.
"""
from __future__ import annotations

from typing import Any

# Question type -> the Python types AWX accepts for its default (SURVEY_TYPE_MAPPING).
DEFAULT_TYPES: dict[str, tuple[type, ...]] = {
    "text": (str,),
    "textarea": (str,),
    "password": (str,),
    "multiplechoice": (str,),
    "multiselect": (str,),
    "integer": (int,),
    "float": (float, int),
}
CHOICE_TYPES = ("multiplechoice", "multiselect")
REQUIRED_FIELDS: dict[str, type] = {"type": str, "question_name": str, "variable": str, "required": bool}


def _choices(question: dict[str, Any]) -> list[str]:
    choices = question.get("choices", [])
    if isinstance(choices, str):
        return [line for line in choices.splitlines() if line.strip()]
    return list(choices)


def spec_errors(spec: Any) -> list[str]:
    """The first error AWX's survey_spec endpoint would answer with (HTTP 400), or []."""
    if not isinstance(spec, dict):
        return ["survey spec is not a JSON object"]
    for field, kind in (("name", str), ("description", str), ("spec", list)):
        if field not in spec:
            return [f"Field '{field}' is missing from survey spec."]
        if not isinstance(spec[field], kind):
            return [f"Expected {kind.__name__} for field '{field}'"]
    if not spec["spec"]:
        return ["'spec' doesn't contain any items."]
    seen: set[str] = set()
    for index, question in enumerate(spec["spec"]):
        if not isinstance(question, dict):
            return [f"Survey question {index} is not a json object."]
        for field, kind in REQUIRED_FIELDS.items():
            if field not in question:
                return [f"'{field}' missing from survey question {index}"]
            # bool is a subclass of int, but not the other way round: isinstance is AWX's own test.
            if not isinstance(question[field], kind):
                return [f"'{field}' in survey question {index} expected to be {kind.__name__}."]
        if question["variable"] in seen:
            return [f"'variable' '{question['variable']}' duplicated in survey question {index}."]
        seen.add(question["variable"])
        qtype = question["type"]
        if qtype not in DEFAULT_TYPES:
            return [f"'{qtype}' in survey question {index} is not one of the allowed question types."]
        default = question.get("default", "")
        if "default" in question and default != "" and not isinstance(default, DEFAULT_TYPES[qtype]):
            return [f"Default value {default!r} in survey question {index} expected to be {qtype}."]
        for bound in ("min", "max"):
            if question.get(bound) is not None and not isinstance(question[bound], int):
                return [f"The {bound} limit in survey question {index} expected to be integer."]
        if qtype in CHOICE_TYPES:
            if "choices" not in question:
                return [f"Survey question {index} of type {qtype} must specify choices."]
            if "default" in question:
                defaults = [line for line in default.splitlines() if line.strip()] if isinstance(default, str) else default
                if qtype == "multiplechoice" and len(defaults) > 1:
                    return ["Multiple Choice (Single Select) can only have one default value."]
                if any(item not in _choices(question) for item in defaults):
                    return ["Default choice must be answered from the choices listed."]
        if isinstance(default, str) and default.startswith("$encrypted$"):
            return [f"$encrypted$ is a reserved keyword, may not be used for new default in position {index}."]
    return []


def answer_errors(question: dict[str, Any], answers: dict[str, Any]) -> list[str]:
    """AWX's per-question check of a launch's answers (_survey_element_validation)."""
    variable, qtype = question["variable"], question["type"]
    if variable not in answers:
        return [f"'{variable}' value missing"] if question["required"] else []
    value = answers[variable]
    low, high = question.get("min"), question.get("max")
    if qtype in ("text", "textarea", "password"):
        if not isinstance(value, str):
            return [f"Value {value!r} for '{variable}' expected to be a string."]
        if low not in ("", None) and len(value) < int(low):
            return [f"'{variable}' value {value!r} is too small"]
        if high not in ("", None) and len(value) > int(high):
            return [f"'{variable}' value {value!r} is too large"]
    elif qtype == "integer":
        # AWX compares type() exactly: True is not an integer answer.
        if isinstance(value, bool) or not isinstance(value, int):
            return [f"Value {value!r} for '{variable}' expected to be an integer."]
        if low not in ("", None) and value < int(low):
            return [f"'{variable}' value {value} is too small"]
        if high not in ("", None) and value > int(high):
            return [f"'{variable}' value {value} is too large"]
    elif qtype == "float":
        if isinstance(value, bool) or not isinstance(value, (float, int)):
            return [f"Value {value!r} for '{variable}' expected to be a numeric type."]
    elif qtype == "multiselect":
        if not isinstance(value, list):
            return [f"'{variable}' value is expected to be a list."]
        return [f"Value {item!r} for '{variable}' not a choice" for item in value if item not in _choices(question)]
    elif qtype == "multiplechoice" and value not in _choices(question):
        return [f"Value {value!r} for '{variable}' expected to be one of {_choices(question)}."]
    return []


def applied_defaults(spec: dict[str, Any]) -> dict[str, Any]:
    """The extra vars a launch without answers gets: each default that passes AWX's own check."""
    applied = {}
    for question in spec["spec"]:
        if question.get("default") is None:
            continue
        candidate = {question["variable"]: question["default"]}
        if not answer_errors(question, candidate):
            applied.update(candidate)
    return applied
