"""Pure pieces of issue 10: the host's input checks, exported-variable notices, teardown blockers,
and the reaper's view of a host without an expiry."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ansible_collections.osworld.aws.plugins.module_utils._osworld.blockers import CLIENT, advice, delete_when_released, describe, owner
from ansible_collections.osworld.aws.plugins.module_utils._osworld.errors import AWSCallError, OSWorldError
from ansible_collections.osworld.aws.plugins.module_utils._osworld.host_checks import HostInput, check_host_inputs, iam_names
from ansible_collections.osworld.aws.plugins.module_utils._osworld.checks import ERROR, Report
from ansible_collections.osworld.aws.plugins.module_utils._osworld.preflight import PreflightInput, environment_notices
from ansible_collections.osworld.aws.plugins.module_utils._osworld.reaper import ReapPolicy, judge

ENV_SG = "sg-0e0e0e0e0e0e0e0e0"
SUBNET = "subnet-0123456789abcdef0"
GROUP = "sg-0123456789abcdef0"


def host_errors(host: HostInput, prefix: str = "osworld") -> list[tuple[str, str]]:
    report = Report()
    check_host_inputs(report, host, prefix, "us-east-1")
    return [(finding.variable, finding.message) for finding in report.findings if finding.level == ERROR]


def test_good_host_inputs_pass_and_an_expiry_is_computed_only_with_a_ttl(tmp_path: Path) -> None:
    policy = tmp_path / "p.json"
    policy.write_text("{}")
    host = HostInput(launch=True, policy_file=str(policy), ttl_scheduler_policy_file=str(policy), enable_ttl=True)
    report = Report()
    check_host_inputs(report, host, "osworld", "us-east-1")
    assert report.findings == [] and "host_expires_at" not in report.facts
    check_host_inputs(report, HostInput(launch=True, policy_file=str(policy), ttl_minutes=60), "osworld", "us-east-1")
    assert report.facts["host_expires_at"].endswith("Z")


@pytest.mark.parametrize(
    ("host", "prefix", "variable"),
    [
        (HostInput(launch=True, ami="ubuntu", instance_profile=False), "osworld", "osworld_host_ami"),
        (HostInput(launch=True, instance_type="large", instance_profile=False), "osworld", "osworld_host_instance_type"),
        (HostInput(launch=True, volume_size=4, instance_profile=False), "osworld", "osworld_host_volume_size"),
        (HostInput(launch=True, ttl_minutes=0, instance_profile=False), "osworld", "osworld_host_ttl_minutes"),
        (HostInput(enable_ttl=True, manage_iam=False), "p" * 41, "osworld_name_prefix"),
        (HostInput(launch=True, policy_file="/nonexistent.json"), "osworld", "osworld_host_policy_file"),
        (HostInput(enable_ttl=True, ttl_scheduler_policy_file=None), "osworld", "osworld_ttl_scheduler_policy_file"),
    ],
)
def test_each_bad_host_input_names_its_variable(host: HostInput, prefix: str, variable: str) -> None:
    assert [found for found, message in host_errors(host, prefix)] == [variable]


def test_every_host_problem_is_listed_at_once_and_manage_iam_false_needs_no_policy_file() -> None:
    bad = HostInput(launch=True, ami="x", instance_type="y", volume_size=1, policy_file="/nope")
    assert [variable for variable, message in host_errors(bad)] == [
        "osworld_host_ami",
        "osworld_host_instance_type",
        "osworld_host_volume_size",
        "osworld_host_policy_file",
    ]
    assert host_errors(HostInput(launch=True, policy_file="/nope", manage_iam=False)) == []
    assert iam_names("osworld", "eu-west-1") == ("osworld-host-eu-west-1", "osworld-ttl-scheduler-eu-west-1")


def test_exported_subnet_and_group_are_said_only_when_they_come_from_the_environment() -> None:
    inputs = PreflightInput(region="us-east-1", subnet_id=SUBNET, security_group_id=GROUP)
    environ = {"AWS_SUBNET_ID": SUBNET, "AWS_SECURITY_GROUP_ID": GROUP}
    assert environment_notices(inputs, environ) == [f"adopting {SUBNET} from AWS_SUBNET_ID", f"using security group {GROUP} from AWS_SECURITY_GROUP_ID"]
    assert environment_notices(inputs, {"AWS_SUBNET_ID": "subnet-0fffffffffffffff0"}) == []
    assert environment_notices(PreflightInput(region="us-east-1"), environ) == []


def vm(instance_id: str, tags: dict[str, str], groups: list[str]) -> dict[str, Any]:
    return {
        "InstanceId": instance_id,
        "State": {"Name": "running"},
        "Tags": [{"Key": key, "Value": value} for key, value in tags.items()],
        "NetworkInterfaces": [{"Groups": [{"GroupId": group} for group in groups]}],
    }


def test_blockers_are_named_by_who_launched_them_and_the_advice_follows() -> None:
    fleet = vm("i-1", {"osworld:managed-by": "osworld.aws", "osworld:role": "env", "osworld:fleet": "b"}, [ENV_SG])
    client = vm("i-2", {}, [ENV_SG])
    stranger = vm("i-3", {"Name": "debug"}, [ENV_SG])
    shared = vm("i-4", {}, [ENV_SG, "sg-0a0a0a0a0a0a0a0a0"])
    assert [owner(i, {ENV_SG}) for i in (fleet, client, stranger, shared)] == ["fleet b", CLIENT, "not OSWorld's, Name debug", "not OSWorld's"]
    assert describe([fleet, client], {ENV_SG}) == "i-1 (fleet b, running), i-2 (OSWorld client, running)"
    text = advice([fleet, client, stranger], {ENV_SG})
    assert "osworld_fleet=all" in text and "osworld_teardown_client_vms=true" in text and "never touches" in text


def test_a_host_without_an_expiry_is_kept_without_a_warning_and_one_with_a_past_expiry_goes() -> None:
    from datetime import datetime, timezone

    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    host = vm("i-5", {"osworld:managed-by": "osworld.aws", "osworld:role": "host"}, ["sg-0b0b0b0b0b0b0b0b0"])
    kept = judge(host, set(), now, ReapPolicy(include_hosts=True))
    assert kept is not None and not kept.reap and "never reaped" not in kept.reason
    expired = vm("i-6", {"osworld:managed-by": "osworld.aws", "osworld:role": "host", "osworld:expires-at": "2025-12-31T00:00:00Z"}, [])
    verdict = judge(expired, set(), now, ReapPolicy(include_hosts=True))
    assert verdict is not None and verdict.reap


class StillInUse:
    """An endpoint whose delete keeps answering DependencyViolation (AWS.call's retries already spent)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def call(self, service: str, operation: str, **kwargs: Any) -> Any:
        self.calls.append((operation, kwargs))
        raise AWSCallError("DeleteSecurityGroup", "DependencyViolation", "resource sg-1 has a dependent object")

    def paginate(self, service: str, operation: str, result_key: str, **kwargs: Any) -> list[Any]:
        self.calls.append((operation, kwargs))
        return [{"NetworkInterfaceId": "eni-1", "Attachment": {"InstanceId": "i-9"}}]


def test_a_delete_still_refused_after_the_retries_names_what_is_left() -> None:
    aws = StillInUse()
    with pytest.raises(OSWorldError) as raised:
        delete_when_released(aws, "delete_security_group", {"group_id": "sg-1"}, "delete what uses it", GroupId="sg-1")  # type: ignore[arg-type]
    assert "sg-1 still in use after" in raised.value.message and "eni-1 (instance i-9)" in raised.value.message
    assert raised.value.message.endswith("delete what uses it")
    assert aws.calls[0] == ("delete_security_group", {"wait_for_release": True, "missing_ok": False, "GroupId": "sg-1"})
