"""preflight_run.py: the input half of a preflight run and its result, as the module and its action plugin give it."""
from __future__ import annotations

from typing import Any

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.osworld.aws.plugins.module_utils._osworld.module import CONNECTION_ARGUMENT_SPEC
from ansible_collections.osworld.aws.plugins.module_utils._osworld.preflight_run import check_preflight_inputs, preflight_argument_spec

AMI = "ami-0d23263edb96951d8"
FLEET_INPUTS = ["common", "image_map", "fleet_inputs"]


def params(**given: Any) -> dict[str, Any]:
    """The options as the module (or the action plugin's validator) hands them over, defaults filled in."""
    args = {"region": "us-east-1", "image_id_map": {"us-east-1": {"1920x1080": AMI}}, "admin_cidrs": ["203.0.113.7/32"], **given}
    validated = ArgumentSpecValidator({**CONNECTION_ARGUMENT_SPEC, **preflight_argument_spec()}).validate(args)
    assert validated.error_messages == []
    return dict(validated.validated_parameters)


def test_input_checks_alone_need_no_aws_and_give_the_modules_result() -> None:
    run = check_preflight_inputs(params(checks=FLEET_INPUTS, env_count=2), {})
    assert not run.needs_aws
    outcome = run.outcome()
    assert outcome["changed"] is False and "failed" not in outcome
    assert outcome["checks"] == FLEET_INPUTS and outcome["findings"] == [] and outcome["warnings"] == []
    assert outcome["image_id"] == AMI


def test_every_error_is_in_one_message_with_the_exported_variables_that_supplied_inputs() -> None:
    run = check_preflight_inputs(params(checks=FLEET_INPUTS, env_count=-1, fleet="a b", subnet_id="subnet-0123456789abcdef0"),
                                 {"AWS_SUBNET_ID": "subnet-0123456789abcdef0"})
    outcome = run.outcome()
    assert outcome["failed"] and not run.needs_aws
    assert outcome["msg"].startswith("Preflight found 2 problems, nothing was created: (1) osworld_fleet")
    assert "(2) osworld_env_count" in outcome["msg"]
    assert outcome["msg"].endswith("(adopting subnet-0123456789abcdef0 from AWS_SUBNET_ID)")
    assert "image_id" not in outcome


def test_an_aws_check_needs_the_module_only_when_its_inputs_passed() -> None:
    assert check_preflight_inputs(params(checks=["image"]), {}).needs_aws
    assert not check_preflight_inputs(params(checks=["image"], image_id_map={}), {}).needs_aws
