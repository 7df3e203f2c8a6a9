"""options.py: a spec dataclass gives its own argument spec and builds itself from the params,
reporting every bad option at once."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from ansible_collections.osworld.aws.plugins.module_utils._osworld.options import (
    Options,
    OptionsError,
    blank_is_none,
    extra_tags_option,
    not_negative,
    option,
    resource_id,
    stack_option,
    with_args,
)
from ansible_collections.osworld.aws.plugins.module_utils._osworld.stack import PLANNED_ID
from ansible_collections.osworld.aws.plugins.module_utils._osworld.validation import validate_cidr, validate_range


@dataclass(frozen=True)
class Example(Options):
    region: str  # not an option: given by the module
    stack: str = stack_option()
    state: str = option("str", "present", choices=("present", "absent"))
    cidrs: list[str] = option("list", ["10.0.0.0/8"], elements="str", checks=[lambda values, name: [validate_cidr(v, name) for v in values]])
    subnet_id: str | None = option("str", checks=[blank_is_none, resource_id("subnet", planned_ok=True)])
    count: int = option("int", required=True, checks=[not_negative])
    ttl: int = option("int", 180, name="ttl_minutes", checks=[with_args(validate_range, 0, 600)])
    secret: str | None = option("str", no_log=True, aliases=["password"])
    extra_tags: dict[str, Any] = extra_tags_option()
    computed: int = field(default=0)

    def problems(self) -> list[str]:
        return ["count: 0 only goes with state=absent"] if self.count == 0 and self.state == "present" else []


PARAMS: dict[str, Any] = {
    "stack": "osworld", "state": "present", "cidrs": ["10.0.0.0/8"], "subnet_id": None, "count": 2,
    "ttl_minutes": 180, "secret": None, "extra_tags": {},
}


def test_argument_spec_comes_from_the_fields() -> None:
    assert Example.argument_spec() == {
        "stack": {"type": "str", "default": "osworld"},
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        "cidrs": {"type": "list", "default": ["10.0.0.0/8"], "elements": "str"},
        "subnet_id": {"type": "str"},
        "count": {"type": "int", "required": True},
        "ttl_minutes": {"type": "int", "default": 180},
        "secret": {"type": "str", "no_log": True, "aliases": ["password"]},
        "extra_tags": {"type": "dict", "default": {}},
    }


def test_argument_spec_defaults_are_fresh_copies() -> None:
    Example.argument_spec()["cidrs"]["default"].append("mutated")
    assert Example.argument_spec()["cidrs"]["default"] == ["10.0.0.0/8"]
    assert Example(region="r").extra_tags is not Example(region="r").extra_tags


def test_from_params_builds_the_spec_with_the_given_fields_and_normalised_values() -> None:
    spec = Example.from_params({**PARAMS, "subnet_id": "", "cidrs": ["10.0.0.0/8", "2001:DB8::/32"]}, region="eu-west-1", computed=7)
    assert spec.region == "eu-west-1" and spec.computed == 7 and spec.ttl == 180
    assert spec.subnet_id is None  # blank is not given
    assert spec.cidrs == ["10.0.0.0/8", "2001:db8::/32"]


def test_from_params_reports_every_bad_option_at_once_each_by_name() -> None:
    bad = {**PARAMS, "cidrs": ["10.0.0.1/8"], "subnet_id": "subnet-xyz", "count": -1, "ttl_minutes": 601}
    with pytest.raises(OptionsError) as error:
        Example.from_params(bad, region="r")
    problems = error.value.problems
    assert [problem.split(":")[0] for problem in problems] == ["cidrs", "subnet_id", "count", "ttl_minutes"]
    assert error.value.message.startswith("4 problems with the options, nothing was changed: (1) cidrs: ")
    assert "(4) ttl_minutes: 601 is outside 0-600" in error.value.message
    assert error.value.details == {"problems": problems}


def test_one_problem_is_the_message_itself() -> None:
    with pytest.raises(OptionsError) as error:
        Example.from_params({**PARAMS, "count": -3}, region="r")
    assert error.value.message == "count: -3 is negative"


def test_a_planned_id_and_none_pass_unchecked() -> None:
    assert Example.from_params({**PARAMS, "subnet_id": PLANNED_ID}, region="r").subnet_id == PLANNED_ID
    assert Example.from_params({**PARAMS, "secret": None}, region="r").secret is None


def test_cross_option_problems_run_once_each_option_passed() -> None:
    with pytest.raises(OptionsError, match="count: 0 only goes with state=absent"):
        Example.from_params({**PARAMS, "count": 0}, region="r")
    with pytest.raises(OptionsError) as error:
        Example.from_params({**PARAMS, "count": 0, "subnet_id": "bad"}, region="r")
    assert error.value.problems == ["subnet_id: 'bad' is not a well-formed subnet id (expected subnet-<8 or 17 hex digits>)"]


def test_checked_applies_to_a_spec_built_directly() -> None:
    assert Example(region="r", count=1, cidrs=["10.1.0.0/16"]).checked().count == 1
    with pytest.raises(OptionsError, match="count: -1 is negative"):
        Example(region="r", count=-1).checked()


def test_an_option_set_to_null_gets_its_default() -> None:
    spec = Example.from_params({**PARAMS, "stack": None, "extra_tags": None, "cidrs": None}, region="r")
    assert (spec.stack, spec.extra_tags, spec.cidrs) == ("osworld", {}, ["10.0.0.0/8"])
