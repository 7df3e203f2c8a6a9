"""checks.py: the shared checks' messages and choices, and which calls they make (their answers are tested against moto)."""
from __future__ import annotations

from typing import Any

from ansible_collections.osworld.aws.plugins.module_utils._osworld.checks import Report, check_network, choose_subnet_zone, instance_type_message
from tests.support.scripted_aws import ScriptedAWS

SUBNET = {"SubnetId": "subnet-1", "VpcId": "vpc-a", "CidrBlock": "10.0.0.0/24", "AvailabilityZone": "us-east-1b"}


def network_answers(operation: str, kwargs: dict[str, Any]) -> Any:
    if operation == "describe_subnets":
        return {"Subnets": [SUBNET]}
    return {"SecurityGroups": [{"GroupId": "sg-1", "VpcId": "vpc-a"}]}


def test_instance_type_messages_name_the_variable_and_the_zones() -> None:
    assert instance_type_message("t3.bogus", "us-east-1", None, []).startswith("osworld_instance_type: t3.bogus is not offered in us-east-1")
    message = instance_type_message("p5.48xlarge", "us-east-1", "us-east-1e", ["us-east-1a"])
    assert "us-east-1e" in message and "us-east-1a" in message and "osworld_subnet_id" in message


def test_subnet_zone_is_the_first_offering_zone_by_name() -> None:
    assert choose_subnet_zone(["us-east-1f", "us-east-1b", "us-east-1c"]) == "us-east-1b"


def test_a_group_the_stacks_tags_found_is_not_described_again() -> None:
    aws = ScriptedAWS(network_answers)
    report = Report()
    assert check_network(aws, report, "subnet-1", "sg-1", known_group_vpc_id="vpc-a") == "us-east-1b"  # type: ignore[arg-type]
    assert aws.operations() == ["describe_subnets"] and not report.errors


def test_a_known_group_in_another_vpc_is_refused_as_a_described_one_is() -> None:
    known, described = Report(), Report()
    check_network(ScriptedAWS(network_answers), known, "subnet-1", "sg-1", known_group_vpc_id="vpc-b")  # type: ignore[arg-type]

    def other_vpc(operation: str, kwargs: dict[str, Any]) -> Any:
        return network_answers(operation, kwargs) if operation == "describe_subnets" else {"SecurityGroups": [{"VpcId": "vpc-b"}]}

    aws = ScriptedAWS(other_vpc)
    check_network(aws, described, "subnet-1", "sg-1")  # type: ignore[arg-type]
    assert [finding.message for finding in known.errors] == [finding.message for finding in described.errors]
    assert "sg-1 is in vpc-b, but osworld_subnet_id subnet-1 is in vpc-a" in known.errors[0].message
    assert aws.operations() == ["describe_subnets", "describe_security_groups"]
