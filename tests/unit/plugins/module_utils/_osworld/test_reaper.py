"""reaper.py: who may be reaped, including the age boundary moto cannot reach and hosts without an expiry."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from ansible_collections.osworld.aws.plugins.module_utils._osworld.client_vms import security_group_ids
from ansible_collections.osworld.aws.plugins.module_utils._osworld.errors import OSWorldError
from ansible_collections.osworld.aws.plugins.module_utils._osworld.reaper import REASON_CLIENT_VM, REASON_EXPIRED, ReapPolicy, judge, select
from tests.support.described import running_instance as vm

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
ENV_SG = "sg-0e0e0e0e0e0e0e0e0"
OTHER_SG = "sg-0a0a0a0a0a0a0a0a0"
POLICY = ReapPolicy(ttl_minutes=180)


def tagged(instance_id: str, expires: str | None, role: str = "env", managed_by: str = "osworld.aws", state: str = "running") -> dict[str, Any]:
    tags = [{"Key": "osworld:managed-by", "Value": managed_by}, {"Key": "osworld:role", "Value": role}, {"Key": "osworld:fleet", "Value": "f"}]
    if expires is not None:
        tags.append({"Key": "osworld:expires-at", "Value": expires})
    return {"InstanceId": instance_id, "State": {"Name": state}, "LaunchTime": NOW - timedelta(hours=1), "Tags": tags, "SecurityGroups": []}


def client_vm(instance_id: str, age: timedelta, groups: list[str], via_interface: bool = True, tags: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """The OSWorld client's launch: groups on the interface (moto leaves SecurityGroups empty)."""
    described = [{"GroupId": group, "GroupName": group} for group in groups]
    return {
        "InstanceId": instance_id,
        "State": {"Name": "running"},
        "LaunchTime": NOW - age,
        "Tags": tags or [],
        "SecurityGroups": [] if via_interface else described,
        "NetworkInterfaces": [{"Groups": described}] if via_interface else [],
    }


def verdict_of(instance: dict[str, Any], policy: ReapPolicy = POLICY) -> tuple[bool, str] | None:
    verdict = judge(instance, {ENV_SG}, NOW, policy)
    return None if verdict is None else (verdict.reap, verdict.reason)


def test_expired_collection_vm_is_reaped_and_a_live_one_kept() -> None:
    assert verdict_of(tagged("i-1", "2026-01-01T11:59:59Z")) == (True, REASON_EXPIRED)
    assert verdict_of(tagged("i-1", "2026-01-01T12:00:00Z")) == (True, REASON_EXPIRED)
    assert verdict_of(tagged("i-1", "2026-01-01T12:00:01Z")) == (False, "not expired")


@pytest.mark.parametrize("expires", [None, "", "soon", "2026-13-45T99:00:00Z"])
def test_unreadable_expiry_is_never_reaped(expires: str | None) -> None:
    verdict = verdict_of(tagged("i-1", expires))
    assert verdict is not None and verdict[0] is False and "never reaped" in verdict[1]


def test_hosts_only_when_asked_and_foreign_managers_never() -> None:
    host = tagged("i-h", "2020-01-01T00:00:00Z", role="host")
    assert verdict_of(host) is None
    assert verdict_of(host, ReapPolicy(include_hosts=True)) == (True, REASON_EXPIRED)
    assert verdict_of(tagged("i-x", "2020-01-01T00:00:00Z", role="something")) is None
    assert verdict_of(tagged("i-x", "2020-01-01T00:00:00Z", managed_by="someone-else")) is None


def test_already_terminating_instances_are_ignored() -> None:
    assert verdict_of(tagged("i-1", "2020-01-01T00:00:00Z", state="shutting-down")) is None
    assert verdict_of(tagged("i-1", "2020-01-01T00:00:00Z", state="stopped")) == (True, REASON_EXPIRED)


def test_client_vm_age_boundary_is_the_ttl() -> None:
    assert verdict_of(client_vm("i-c", timedelta(minutes=180), [ENV_SG])) == (True, REASON_CLIENT_VM)
    assert verdict_of(client_vm("i-c", timedelta(minutes=180, seconds=1), [ENV_SG])) == (True, REASON_CLIENT_VM)
    assert verdict_of(client_vm("i-c", timedelta(minutes=179, seconds=59), [ENV_SG])) == (False, "younger than ttl")
    assert verdict_of(client_vm("i-c", timedelta(0), [ENV_SG]), ReapPolicy(ttl_minutes=0)) == (True, REASON_CLIENT_VM)


def test_client_vm_membership_is_read_from_both_places() -> None:
    assert verdict_of(client_vm("i-c", timedelta(days=1), [ENV_SG], via_interface=False)) == (True, REASON_CLIENT_VM)
    assert security_group_ids(
        {"SecurityGroups": [{"GroupId": "sg-a"}], "NetworkInterfaces": [{"Groups": [{"GroupId": "sg-b"}]}, {"Groups": []}]}
    ) == {"sg-a", "sg-b"}


def test_untagged_vm_outside_or_beside_the_env_group_is_never_touched() -> None:
    old = timedelta(days=30)
    assert verdict_of(client_vm("i-f", old, [OTHER_SG])) is None
    assert verdict_of(client_vm("i-h", old, [ENV_SG, OTHER_SG])) is None
    assert verdict_of(client_vm("i-n", old, [])) is None
    # A tag someone chose makes the VM theirs: the client launches with none (the inventory
    # lists the same VMs as client VMs, client_vms.is_client_vm).
    named = client_vm("i-named", old, [ENV_SG], tags=[{"Key": "Name", "Value": "osworld-client"}])
    assert verdict_of(named) is None
    aws_tagged = client_vm("i-aws", old, [ENV_SG], tags=[{"Key": "aws:ec2launchtemplate:id", "Value": "lt-1"}])
    assert verdict_of(aws_tagged) == (True, REASON_CLIENT_VM)


def test_switches_turn_each_kind_off() -> None:
    old = client_vm("i-c", timedelta(days=1), [ENV_SG])
    due = tagged("i-t", "2020-01-01T00:00:00Z")
    assert verdict_of(old, ReapPolicy(untagged=False)) == (False, "younger than ttl")
    assert verdict_of(due, ReapPolicy(expired=False)) == (False, "not expired")


def test_a_client_vm_without_launch_time_is_never_reaped() -> None:
    vm = client_vm("i-c", timedelta(days=1), [ENV_SG])
    del vm["LaunchTime"]
    verdict = verdict_of(vm)
    assert verdict is not None and verdict[0] is False


def test_select_sorts_dedupes_and_drops_strangers() -> None:
    instances = [
        tagged("i-b", "2020-01-01T00:00:00Z"),
        client_vm("i-a", timedelta(days=1), [ENV_SG]),
        tagged("i-b", "2020-01-01T00:00:00Z"),
        client_vm("i-z", timedelta(days=1), [OTHER_SG]),
    ]
    verdicts = select(instances, [ENV_SG], NOW, POLICY)
    assert [(v.instance_id, v.reap, v.launched_by) for v in verdicts] == [("i-a", True, "osworld-client"), ("i-b", True, "osworld.aws")]
    assert verdicts[1].as_dict()["fleet"] == "f"


def test_ttl_is_validated() -> None:
    with pytest.raises(OSWorldError, match="ttl_minutes"):
        ReapPolicy(ttl_minutes=-1).validate()


def test_a_host_without_an_expiry_is_kept_without_a_warning_and_one_with_a_past_expiry_goes() -> None:
    from datetime import datetime, timezone

    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    host = vm("i-5", {"osworld:managed-by": "osworld.aws", "osworld:role": "host"}, ["sg-0b0b0b0b0b0b0b0b0"])
    kept = judge(host, set(), now, ReapPolicy(include_hosts=True))
    assert kept is not None and not kept.reap and "never reaped" not in kept.reason
    expired = vm("i-6", {"osworld:managed-by": "osworld.aws", "osworld:role": "host", "osworld:expires-at": "2025-12-31T00:00:00Z"}, [])
    verdict = judge(expired, set(), now, ReapPolicy(include_hosts=True))
    assert verdict is not None and verdict.reap
