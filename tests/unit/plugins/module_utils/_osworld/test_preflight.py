"""preflight.py's input checks: every bad input gives one error naming the variable, good input none; exported variables are said out loud."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from ansible_collections.osworld.aws.plugins.module_utils._osworld.checks import ERROR, Finding, failure_message
from ansible_collections.osworld.aws.plugins.module_utils._osworld.errors import OSWorldError
from ansible_collections.osworld.aws.plugins.module_utils._osworld.preflight import (
    ALL_CHECKS,
    INPUT_CHECKS,
    PreflightInput,
    check_inputs,
    environment_notices,
    expand_checks,
)

AMI = "ami-0d23263edb96951d8"
GOOD = PreflightInput(
    region="us-east-1",
    image_id_map={"us-east-1": {"1920x1080": AMI}},
    admin_cidrs=("203.0.113.7/32",),
)
# (field overrides, variable the error must name): each is one bad input.
BAD_INPUTS: list[tuple[dict[str, Any], str]] = [
    ({"region": "us_east_1"}, "osworld_region"),
    ({"region": ""}, "osworld_region"),
    ({"region": "US-EAST-1"}, "osworld_region"),
    ({"image_id_map": {}}, "osworld_image_id_map"),
    ({"image_id_map": {"eu-west-1": AMI}}, "osworld_image_id_map"),
    ({"image_id_map": {"us-east-1": "ami-123"}}, "osworld_image_id_map['us-east-1']"),
    ({"image_id_map": {"us-east-1": {"1920x1080": "image-1"}}}, "osworld_image_id_map['us-east-1']['1920x1080']"),
    ({"image_id_map": {"us-east-1": {"1920x1080": 42}}}, "osworld_image_id_map['us-east-1']['1920x1080']"),
    ({"image_id_map": {"us-east-1": ["ami-0d23263edb96951d8"]}}, "osworld_image_id_map['us-east-1']"),
    ({"image_id_map": {"us-east-1": {"1280x720": AMI}}}, "osworld_screen_size"),
    ({"screen_size": "1920*1080"}, "osworld_screen_size"),
    ({"instance_type": "t3medium"}, "osworld_instance_type"),
    ({"instance_type": "T3.Medium"}, "osworld_instance_type"),
    ({"key_name": ""}, "osworld_key_name"),
    ({"key_name": "k" * 256}, "osworld_key_name"),
    ({"vpc_id": "vpc-123"}, "osworld_vpc_id"),
    ({"subnet_id": "subnet-xyz"}, "osworld_subnet_id"),
    ({"subnet_id": "sg-0123456789abcdef0"}, "osworld_subnet_id"),
    ({"security_group_id": "sg-12"}, "osworld_security_group_id"),
    ({"vpc_cidr": "10.0.0.0/33"}, "osworld_vpc_cidr"),
    ({"vpc_cidr": "10.0.0.1/16"}, "osworld_vpc_cidr"),
    ({"vpc_cidr": "10.0.0.0/8"}, "osworld_vpc_cidr"),
    ({"vpc_cidr": "8.8.0.0/16", "subnet_cidr": "8.8.0.0/20"}, "osworld_vpc_cidr"),
    ({"vpc_cidr": "fd00::/56", "subnet_cidr": "fd00::/64"}, "osworld_vpc_cidr"),
    ({"subnet_cidr": "not-a-cidr"}, "osworld_subnet_cidr"),
    ({"subnet_cidr": "10.0.0.0/20"}, "osworld_subnet_cidr"),
    ({"subnet_cidr": "172.31.0.0/29"}, "osworld_subnet_cidr"),
    ({"availability_zone": "eu-west-1a"}, "osworld_availability_zone"),
    ({"internal_cidr": "0.0.0.0/0"}, "osworld_internal_cidr"),
    ({"internal_cidr": "8.8.8.0/24"}, "osworld_internal_cidr"),
    ({"internal_cidr": "10.0.0.0/33"}, "osworld_internal_cidr"),
    ({"admin_cidrs": ()}, "osworld_admin_cidrs"),
    ({"admin_cidrs": ("203.0.113.7", "300.1.1.1/32")}, "osworld_admin_cidrs"),
    ({"admin_cidrs": ("203.0.113.7/24",)}, "osworld_admin_cidrs"),
    ({"monitor_port": 0}, "osworld_monitor_port"),
    ({"monitor_port": 65536}, "osworld_monitor_port"),
    ({"monitor_port": 22}, "osworld_monitor_port"),
    ({"name_prefix": ""}, "osworld_name_prefix"),
    ({"name_prefix": "os world"}, "osworld_name_prefix"),
    ({"fleet": "my fleet"}, "osworld_fleet"),
    ({"fleet": "all", "env_count": 2}, "osworld_fleet"),
    ({"env_count": -1}, "osworld_env_count"),
    ({"env_count": 1001}, "osworld_env_count"),
    ({"ttl_minutes": -5}, "osworld_ttl_minutes"),
    ({"extra_tags": {"aws:cost": "x"}}, "osworld_extra_tags"),
    ({"extra_tags": {"team": "x" * 257}}, "osworld_extra_tags"),
    ({"extra_tags": {"team": None}}, "osworld_extra_tags"),
    ({"extra_tags": {"k" * 129: "v"}}, "osworld_extra_tags"),
    ({"extra_tags": {f"tag{n}": "v" for n in range(43)}}, "osworld_extra_tags"),
]


def errors_of(inputs: PreflightInput, checks: tuple[str, ...] = INPUT_CHECKS) -> list[Finding]:
    return [finding for finding in check_inputs(inputs, checks).findings if finding.level == ERROR]


def test_good_input_passes_every_input_check() -> None:
    report = check_inputs(GOOD, INPUT_CHECKS, known_regions=["us-east-1"])
    assert report.findings == []
    assert report.facts == {"image_id": AMI}


@pytest.mark.parametrize(("overrides", "variable"), BAD_INPUTS, ids=[str(case[0])[:60] for case in BAD_INPUTS])
def test_each_bad_input_gives_one_error_naming_its_variable(overrides: dict[str, Any], variable: str) -> None:
    errors = errors_of(replace(GOOD, **overrides))
    assert len(errors) == 1, errors
    assert errors[0].message.startswith(variable), errors[0].message
    assert variable.split("[")[0] == errors[0].variable or errors[0].variable in variable


def test_every_problem_is_listed_in_one_message() -> None:
    errors = errors_of(replace(GOOD, monitor_port=0, env_count=-1, internal_cidr="0.0.0.0/0"))
    message = failure_message(errors)
    assert message.startswith("Preflight found 3 problems, nothing was created")
    for variable in ("osworld_monitor_port", "osworld_env_count", "osworld_internal_cidr"):
        assert variable in message
    assert "\n" not in message


def test_internal_cidr_refusal_explains_port_5000() -> None:
    (error,) = errors_of(replace(GOOD, internal_cidr="0.0.0.0/0"))
    assert "5000" in error.message and "unauthenticated" in error.message


def test_a_malformed_region_is_one_error_not_also_a_map_error() -> None:
    errors = errors_of(replace(GOOD, region="useast1"))
    assert [error.variable for error in errors] == ["osworld_region"]


def test_a_plain_ami_string_serves_every_screen_size() -> None:
    report = check_inputs(replace(GOOD, image_id_map={"us-east-1": AMI}, screen_size="1280x720"), INPUT_CHECKS)
    assert report.errors == []
    assert report.facts["image_id"] == AMI


def test_missing_region_lists_the_regions_the_map_has() -> None:
    (error,) = errors_of(replace(GOOD, region="eu-west-1"))
    assert "us-east-1" in error.message and "osworld_image_id_map['eu-west-1']" in error.message


def test_missing_screen_size_lists_the_sizes() -> None:
    (error,) = errors_of(replace(GOOD, screen_size="1280x720"))
    assert "1920x1080" in error.message


def test_other_regions_malformed_entries_only_warn() -> None:
    inputs = replace(GOOD, image_id_map={"us-east-1": AMI, "eu-west-1": "ami-bad", "mars-1": AMI})
    report = check_inputs(inputs, INPUT_CHECKS)
    assert report.errors == []
    assert sorted(w.message.split(":")[0] for w in report.warnings) == [
        "osworld_image_id_map['eu-west-1']",
        "osworld_image_id_map['mars-1']",
    ]


def test_admin_cidrs_open_to_the_internet_warn() -> None:
    report = check_inputs(replace(GOOD, admin_cidrs=("0.0.0.0/0",)), INPUT_CHECKS)
    assert report.errors == []
    (warning,) = report.warnings
    assert warning.variable == "osworld_admin_cidrs" and "whole internet" in warning.message


def test_reserved_extra_tags_warn_and_are_not_errors() -> None:
    report = check_inputs(replace(GOOD, extra_tags={"osworld:fleet": "x", "team": "ml"}), INPUT_CHECKS)
    assert report.errors == []
    assert [w.variable for w in report.warnings] == ["osworld_extra_tags"]


def test_internal_cidr_that_misses_the_subnet_warns() -> None:
    report = check_inputs(replace(GOOD, internal_cidr="10.9.0.0/16"), INPUT_CHECKS)
    assert report.errors == []
    assert [w.variable for w in report.warnings] == ["osworld_internal_cidr"]


def test_adopted_network_skips_the_dedicated_cidr_checks() -> None:
    inputs = replace(GOOD, subnet_id="subnet-0123456789abcdef0", vpc_cidr="bad", subnet_cidr="bad")
    assert errors_of(inputs) == []


def test_unknown_region_only_warns() -> None:
    report = check_inputs(replace(GOOD, region="us-east-9", image_id_map={"us-east-9": AMI}), INPUT_CHECKS, ["us-east-1"])
    assert report.errors == []
    assert [w.variable for w in report.warnings] == ["osworld_region"]


def test_fleet_all_is_fine_for_teardown() -> None:
    assert errors_of(replace(GOOD, fleet="all", env_count=0)) == []


def test_checks_select_what_runs() -> None:
    bad = replace(GOOD, region="eu-west-1", monitor_port=0, env_count=-1)
    assert errors_of(bad, ("common",)) == []
    assert [e.variable for e in errors_of(bad, ("common", "fleet_inputs"))] == ["osworld_env_count"]
    assert [e.variable for e in errors_of(bad, ("common", "network_inputs"))] == ["osworld_monitor_port"]
    assert [e.variable for e in errors_of(bad, ("common", "image_map"))] == ["osworld_image_id_map"]


def test_aws_checks_imply_the_inputs_they_read() -> None:
    assert expand_checks(["image"]) == ["common", "image_map", "image"]
    assert expand_checks(["quota", "network"]) == ["common", "network_inputs", "fleet_inputs", "network", "quota"]
    assert expand_checks(list(ALL_CHECKS)) == list(ALL_CHECKS)
    assert expand_checks([]) == []
    with pytest.raises(OSWorldError, match="osworld_preflight_checks"):
        expand_checks(["everything"])


def test_image_copy_turns_a_missing_region_into_a_planned_copy() -> None:
    west = replace(GOOD, region="eu-west-1")
    missing = check_inputs(west, ["common", "image_map"])
    assert [e.variable for e in missing.errors] == ["osworld_image_id_map"]
    assert "osworld_image_copy: true" in missing.errors[0].message
    planned = check_inputs(replace(west, image_copy=True), ["common", "image_map"])
    assert planned.errors == []
    assert planned.facts["image_copy_source"] == {"region": "us-east-1", "image_id": AMI}
    assert "image_id" not in planned.facts
    wrong_source = check_inputs(replace(west, image_copy=True, image_source_region="ap-east-1"), ["common", "image_map"])
    assert [e.variable for e in wrong_source.errors] == ["osworld_image_source_region"]


SUBNET = "subnet-0123456789abcdef0"
GROUP = "sg-0123456789abcdef0"


def test_exported_subnet_and_group_are_said_only_when_they_come_from_the_environment() -> None:
    inputs = PreflightInput(region="us-east-1", subnet_id=SUBNET, security_group_id=GROUP)
    environ = {"AWS_SUBNET_ID": SUBNET, "AWS_SECURITY_GROUP_ID": GROUP}
    assert environment_notices(inputs, environ) == [f"adopting {SUBNET} from AWS_SUBNET_ID", f"using security group {GROUP} from AWS_SECURITY_GROUP_ID"]
    assert environment_notices(inputs, {"AWS_SUBNET_ID": "subnet-0fffffffffffffff0"}) == []
    assert environment_notices(PreflightInput(region="us-east-1"), environ) == []
