"""fleet_plan.py: scale plans, termination order, batches, ClientToken, the launch request, tags and views."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ansible_collections.osworld.aws.plugins.module_utils._osworld.fleet import FleetSpec
from ansible_collections.osworld.aws.plugins.module_utils._osworld.fleet_plan import (
    LaunchTarget,
    Member,
    batches,
    client_token,
    fleet_diff,
    fleet_filters,
    instance_tags,
    instance_view,
    is_replay,
    plan_scale,
    run_instances_request,
    termination_order,
)
from ansible_collections.osworld.aws.plugins.module_utils._osworld.instances import API_BATCH, chunks
from ansible_collections.osworld.aws.plugins.module_utils._osworld.stack import StackNetwork

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
AMI = "ami-0d23263edb96951d8"
NETWORK = StackNetwork("vpc-0123456789abcdef0", "subnet-0123456789abcdef0", "sg-0123456789abcdef0")
TARGET = LaunchTarget(AMI, "/dev/sda1", NETWORK)


def member(instance_id: str, state: str = "running", launched_minutes_ago: int = 10, expires_in: int | None = 60) -> Member:
    tags = [{"Key": "osworld:fleet", "Value": "f"}]
    if expires_in is not None:
        tags.append({"Key": "osworld:expires-at", "Value": (NOW + timedelta(minutes=expires_in)).strftime("%Y-%m-%dT%H:%M:%SZ")})
    return Member.from_instance(
        {"InstanceId": instance_id, "State": {"Name": state}, "LaunchTime": NOW - timedelta(minutes=launched_minutes_ago), "Tags": tags}
    )


# --- plans -----------------------------------------------------------------------------------


def test_plan_launches_the_missing_count_and_nothing_when_exact() -> None:
    members = [member("i-1"), member("i-2")]
    assert plan_scale(members, 5, NOW).launch == 3
    assert plan_scale(members, 5, NOW).terminate == ()
    exact = plan_scale(members, 2, NOW)
    assert (exact.launch, exact.terminate, exact.changes) == (0, (), False)
    assert plan_scale([], 0, NOW).changes is False


def test_scale_down_removes_expired_then_stopped_then_newest() -> None:
    members = [
        member("i-old", launched_minutes_ago=100),
        member("i-new", launched_minutes_ago=1),
        member("i-mid", launched_minutes_ago=50),
        member("i-stopped", state="stopped", launched_minutes_ago=90),
        member("i-due", launched_minutes_ago=80, expires_in=-1),
    ]
    order = [m.instance_id for m in termination_order(members, NOW)]
    assert order == ["i-due", "i-stopped", "i-new", "i-mid", "i-old"]
    assert plan_scale(members, 3, NOW).terminate == ("i-due", "i-stopped")
    assert plan_scale(members, 1, NOW).terminate == tuple(sorted(["i-due", "i-stopped", "i-new", "i-mid"]))
    assert plan_scale(members, 0, NOW).terminate == tuple(sorted(m.instance_id for m in members))


def test_due_now_counts_as_expired_and_unreadable_expiry_does_not() -> None:
    due_now = member("i-due", launched_minutes_ago=1, expires_in=0)
    no_tag = member("i-untagged", launched_minutes_ago=0, expires_in=None)
    old = member("i-old", launched_minutes_ago=30)
    assert [m.instance_id for m in termination_order([old, no_tag, due_now], NOW)] == ["i-due", "i-untagged", "i-old"]


def test_batches_only_at_the_api_limit() -> None:
    assert batches(0) == []
    assert batches(50) == [50]
    assert batches(API_BATCH) == [API_BATCH]
    assert batches(2 * API_BATCH + 1) == [API_BATCH, API_BATCH, 1]
    assert [len(chunk) for chunk in chunks([str(i) for i in range(2500)])] == [1000, 1000, 500]


# --- ClientToken -----------------------------------------------------------------------------


def test_client_token_is_derived_from_the_question() -> None:
    token = client_token("f", "us-east-1", ["i-2", "i-1"], 3, 0)
    assert token == client_token("f", "us-east-1", ["i-1", "i-2"], 3, 0)
    assert len(token) <= 64 and token.isascii()
    others = {
        client_token("g", "us-east-1", ["i-1", "i-2"], 3, 0),
        client_token("f", "eu-west-1", ["i-1", "i-2"], 3, 0),
        client_token("f", "us-east-1", ["i-1"], 3, 0),
        client_token("f", "us-east-1", ["i-1", "i-2"], 4, 0),
        client_token("f", "us-east-1", ["i-1", "i-2"], 3, 1),
        client_token("f", "us-east-1", ["i-1", "i-2"], 3, 0, salt=1),
    }
    assert token not in others and len(others) == 6


def test_replay_of_an_earlier_launch_is_recognised() -> None:
    fresh = [{"InstanceId": "i-new1", "State": {"Name": "pending"}}, {"InstanceId": "i-new2", "State": {"Name": "running"}}]
    assert not is_replay(fresh, 2, ["i-old"])
    assert is_replay([{"InstanceId": "i-a", "State": {"Name": "terminated"}}, fresh[0]], 2, [])
    assert is_replay(fresh, 2, ["i-new1"])
    assert is_replay(fresh[:1], 2, [])


# --- the launch request and tags -------------------------------------------------------------


def test_launch_request_is_the_osworld_clients() -> None:
    spec = FleetSpec(fleet="f", count=3, stack="s", instance_type="t3.large", key_name="osworld_key", extra_tags={"team": "eval"})
    tags = instance_tags(spec, NOW)
    request = run_instances_request(spec, TARGET, 3, tags, "tok")
    assert request["ImageId"] == AMI and request["InstanceType"] == "t3.large" and request["KeyName"] == "osworld_key"
    assert request["MinCount"] == request["MaxCount"] == 3
    assert request["EbsOptimized"] is True
    assert request["InstanceInitiatedShutdownBehavior"] == "terminate"
    assert request["NetworkInterfaces"] == [
        {
            "DeviceIndex": 0,
            "SubnetId": NETWORK.subnet_id,
            "Groups": [NETWORK.env_security_group_id],
            "AssociatePublicIpAddress": True,
            "DeleteOnTermination": True,
        }
    ]
    assert request["BlockDeviceMappings"] == [
        {"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 30, "VolumeType": "gp3", "Iops": 4000, "Throughput": 1000, "DeleteOnTermination": True}}
    ]
    assert [spec_["ResourceType"] for spec_ in request["TagSpecifications"]] == ["instance", "volume", "network-interface"]
    assert "KeyName" not in run_instances_request(FleetSpec(fleet="f", count=1), TARGET, 1, tags, "tok")


def test_instance_tags_keep_the_collections_own_and_compute_expiry() -> None:
    spec = FleetSpec(fleet="f", count=1, stack="s", ttl_minutes=90, extra_tags={"osworld:fleet": "evil", "osworld:expires-at": "never", "team": 7})
    tags = instance_tags(spec, NOW)
    assert tags == {
        "osworld:managed-by": "osworld.aws",
        "osworld:role": "env",
        "osworld:fleet": "f",
        "osworld:expires-at": "2026-01-01T13:30:00Z",
        "osworld:stack": "s",
        "Name": "s-env-f",
        "team": "7",
    }
    assert instance_tags(FleetSpec(fleet="f", count=1, ttl_minutes=0), NOW)["osworld:expires-at"] == "2026-01-01T12:00:00Z"


def test_fleet_filters_name_the_fleet_unless_all() -> None:
    names = {flt["Name"]: flt["Values"] for flt in fleet_filters("f")}
    assert names["tag:osworld:fleet"] == ["f"] and names["tag:osworld:role"] == ["env"]
    assert names["instance-state-name"] == ["pending", "running", "stopping", "stopped"]
    assert "tag:osworld:fleet" not in {flt["Name"] for flt in fleet_filters("all")}


def test_instance_view_and_diff() -> None:
    view = instance_view(
        {
            "InstanceId": "i-1",
            "State": {"Name": "running"},
            "PrivateIpAddress": "10.0.0.4",
            "PublicIpAddress": "54.1.2.3",
            "LaunchTime": NOW,
            "Tags": [{"Key": "osworld:expires-at", "Value": "2026-01-01T15:00:00Z"}, {"Key": "osworld:fleet", "Value": "f"}],
        }
    )
    assert view["vnc_url"] == "http://54.1.2.3:5910/vnc.html"
    assert view["backend_url"] == "http://10.0.0.4:5000"
    assert (view["expires_at"], view["fleet"], view["launch_time"]) == ("2026-01-01T15:00:00Z", "f", "2026-01-01T12:00:00Z")
    assert instance_view({"InstanceId": "i-2", "State": {"Name": "pending"}})["vnc_url"] is None
    assert fleet_diff(["i-2", "i-1"], ["i-1"]) == {
        "before": {"count": 2, "instance_ids": ["i-1", "i-2"]},
        "after": {"count": 1, "instance_ids": ["i-1"]},
    }
