"""Fleet planning: AMI choice, scale plans, termination order, launch request, ClientToken, waits."""
from __future__ import annotations

import http.server
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from ansible_collections.osworld.aws.plugins.module_utils._osworld.aws import is_missing
from ansible_collections.osworld.aws.plugins.module_utils._osworld.errors import AWSCallError, OSWorldError
from ansible_collections.osworld.aws.plugins.module_utils._osworld.fleet import FleetChanged, FleetSpec, launch, validate_spec
from ansible_collections.osworld.aws.plugins.module_utils._osworld.fleet_plan import (
    DETERMINISTIC_SALTS,
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
from ansible_collections.osworld.aws.plugins.module_utils._osworld.instances import API_BATCH, chunks, wait_for_state
from ansible_collections.osworld.aws.plugins.module_utils._osworld.urls import http_probe, wait_for_backends
from ansible_collections.osworld.aws.plugins.module_utils._osworld.stack import PLANNED_ID, StackNetwork

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


class ScriptedAWS:
    """The two AWS methods the fleet code uses, answering from a script, recording each call."""

    region = "us-east-1"

    def __init__(self, answer: Callable[[str, dict[str, Any]], Any]) -> None:
        self.answer = answer
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def call(self, service: str, operation: str, *, wait_for_consistency: bool = False, missing_ok: bool = False, **kwargs: Any) -> Any:
        self.calls.append((operation, kwargs))
        try:
            return self.answer(operation, kwargs)
        except AWSCallError as exc:
            # As AWS.call does: a NotFound answer is None when the caller expects the resource may be gone.
            if missing_ok and is_missing(exc):
                return None
            raise

    def paginate(self, service: str, operation: str, result_key: str, **kwargs: Any) -> list[Any]:
        """Listings (the fleet's members) come from the same script, as the items themselves."""
        self.calls.append((operation, kwargs))
        return list(self.answer(operation, kwargs))

    def operations(self) -> list[str]:
        return [call[0] for call in self.calls]


# --- input validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"fleet": "bad name"}, "fleet:"),
        ({"fleet": ""}, "fleet:"),
        ({"fleet": "all", "count": 3}, "fleet: 'all' only tears"),
        ({"count": -1}, "count:"),
        ({"ttl_minutes": -5}, "ttl_minutes:"),
        ({"screen_size": "big"}, "screen_size:"),
        ({"subnet_id": "subnet-xyz"}, "subnet_id:"),
        ({"security_group_id": "sg-1"}, "security_group_id:"),
        ({"wait_timeout": -1}, "wait_timeout"),
    ],
)
def test_bad_input_fails_naming_the_option(changes: dict[str, Any], needle: str) -> None:
    spec = FleetSpec(**{"fleet": "f", "count": 1, **changes})
    with pytest.raises(OSWorldError) as error:
        validate_spec(spec)
    assert needle in error.value.message


def test_planned_ids_from_check_mode_and_fleet_all_teardown_are_valid() -> None:
    validate_spec(FleetSpec(fleet="f", count=2, subnet_id=PLANNED_ID, security_group_id=PLANNED_ID))
    validate_spec(FleetSpec(fleet="all", count=0))
    validate_spec(FleetSpec(fleet="eval-2.b_x", count=0, ttl_minutes=0))


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


def fake_instances(ids: list[str], state: str) -> list[dict[str, Any]]:
    return [{"InstanceId": instance_id, "State": {"Name": state}} for instance_id in ids]


def test_a_reused_token_is_salted_until_a_fresh_launch_answers() -> None:
    spec = FleetSpec(fleet="f", count=2)
    answers = iter(
        [
            {"Instances": fake_instances(["i-gone1", "i-gone2"], "terminated")},
            AWSCallError("RunInstances", "IdempotentParameterMismatch", "different parameters"),
            {"Instances": fake_instances(["i-new1", "i-new2"], "pending")},
        ]
    )

    def answer(operation: str, kwargs: dict[str, Any]) -> Any:
        if operation == "describe_instances":
            return []  # the fleet is as this run found it: the mismatch was an earlier cycle's token
        reply = next(answers)
        if isinstance(reply, Exception):
            raise reply
        return reply

    aws = ScriptedAWS(answer)
    assert launch(aws, spec, TARGET, [], 2, NOW) == ["i-new1", "i-new2"]
    tokens = [call[1]["ClientToken"] for call in aws.calls if call[0] == "run_instances"]
    assert aws.operations() == ["run_instances", "run_instances", "describe_instances", "run_instances"]
    assert tokens == [client_token("f", "us-east-1", [], 2, 0, salt) for salt in range(3)]
    assert all(call[1]["MinCount"] == call[1]["MaxCount"] == 2 for call in aws.calls if call[0] == "run_instances")


def test_a_mismatch_with_members_this_run_never_saw_launches_nothing_more() -> None:
    """Another run launched this very batch a moment ago (same question, another expiry)."""

    def answer(operation: str, kwargs: dict[str, Any]) -> Any:
        if operation == "describe_instances":
            return fake_instances(["i-other1", "i-other2"], "pending")
        raise AWSCallError("RunInstances", "IdempotentParameterMismatch", "different parameters")

    aws = ScriptedAWS(answer)
    with pytest.raises(FleetChanged) as changed:
        launch(aws, FleetSpec(fleet="f", count=2), TARGET, [], 2, NOW)
    assert [member.instance_id for member in changed.value.members] == ["i-other1", "i-other2"]
    assert aws.operations() == ["run_instances", "describe_instances"]


def test_after_the_deterministic_salts_a_random_token_is_used() -> None:
    calls = 0

    def answer(operation: str, kwargs: dict[str, Any]) -> Any:
        nonlocal calls
        calls += 1
        if calls <= DETERMINISTIC_SALTS:
            return {"Instances": fake_instances(["i-gone"], "terminated")}
        return {"Instances": fake_instances(["i-new"], "pending")}

    aws = ScriptedAWS(answer)
    assert launch(aws, FleetSpec(fleet="f", count=1), TARGET, [], 1, NOW) == ["i-new"]
    last = aws.calls[-1][1]["ClientToken"]
    assert last not in {client_token("f", "us-east-1", [], 1, 0, salt) for salt in range(DETERMINISTIC_SALTS + 1)}


def test_large_scale_up_is_one_run_instances_per_thousand() -> None:
    counter = iter(range(10**6))

    def answer(operation: str, kwargs: dict[str, Any]) -> Any:
        return {"Instances": fake_instances([f"i-{next(counter)}" for _number in range(kwargs["MinCount"])], "pending")}

    aws = ScriptedAWS(answer)
    launched = launch(aws, FleetSpec(fleet="f", count=2500), TARGET, [], 2500, NOW)
    assert len(launched) == 2500 == len(set(launched))
    assert [call[1]["MinCount"] for call in aws.calls] == [1000, 1000, 500]
    assert len({call[1]["ClientToken"] for call in aws.calls}) == 3


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


# --- waits -----------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def describing(states_per_poll: list[dict[str, str]]) -> Callable[[str, dict[str, Any]], Any]:
    polls = iter(states_per_poll)

    def answer(operation: str, kwargs: dict[str, Any]) -> Any:
        states = next(polls)
        instances = [{"InstanceId": i, "State": {"Name": states[i]}} for i in kwargs["InstanceIds"] if i in states]
        return {"Reservations": [{"Instances": instances}]}

    return answer


def test_wait_polls_the_whole_batch_with_one_call_per_poll() -> None:
    aws = ScriptedAWS(describing([{"i-1": "pending", "i-2": "pending"}, {"i-1": "running", "i-2": "pending"}, {"i-2": "running"}]))
    clock = FakeClock()
    final = wait_for_state(aws, ["i-2", "i-1"], "running", 60, clock.sleep, clock, interval=5)
    assert sorted(final) == ["i-1", "i-2"]
    assert len(aws.calls) == 3
    assert [call[1]["InstanceIds"] for call in aws.calls] == [["i-1", "i-2"], ["i-1", "i-2"], ["i-2"]]
    assert clock.sleeps == [5, 5]


def test_wait_is_bounded_and_fails_naming_the_laggards() -> None:
    aws = ScriptedAWS(describing([{"i-1": "pending"}] * 100))
    clock = FakeClock()
    with pytest.raises(OSWorldError) as error:
        wait_for_state(aws, ["i-1"], "running", 12, clock.sleep, clock, interval=5)
    assert "not running after 12 s (i-1)" in error.value.message
    assert clock.now == 12 and len(aws.calls) == 4


def test_a_vm_that_dies_while_booting_fails_the_wait() -> None:
    aws = ScriptedAWS(describing([{"i-1": "terminated"}]))
    with pytest.raises(OSWorldError, match="i-1 went to terminated"):
        wait_for_state(aws, ["i-1"], "running", 60)


def test_terminated_wait_counts_a_purged_instance_as_gone() -> None:
    def answer(operation: str, kwargs: dict[str, Any]) -> Any:
        raise AWSCallError("DescribeInstances", "InvalidInstanceID.NotFound", "gone")

    assert set(wait_for_state(ScriptedAWS(answer), ["i-1"], "terminated", 60)) == {"i-1"}


def test_backend_wait_probes_platform_until_ready_or_timeout() -> None:
    seen: list[str] = []
    ready_after = {"http://10.0.0.4:5000": 1, "http://10.0.0.5:5000": 3}

    def probe(url: str, timeout: float) -> bool:
        seen.append(url)
        base = url.removesuffix("/platform")
        ready_after[base] -= 1
        return ready_after[base] <= 0

    clock = FakeClock()
    wait_for_backends(list(ready_after), 60, probe, clock.sleep, clock, interval=5)
    assert all(url.endswith("/platform") for url in seen)
    assert len(seen) == 4 and clock.sleeps == [5, 5]

    clock = FakeClock()
    with pytest.raises(OSWorldError, match="backend not answering after 7 s on http://10.0.0.9:5000"):
        wait_for_backends(["http://10.0.0.9:5000"], 7, lambda url, timeout: False, clock.sleep, clock, interval=5)


def test_http_probe_is_true_only_for_an_answering_backend() -> None:
    class Platform(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            self.send_response(200 if self.path == "/platform" else 404)
            self.send_header("Content-Length", "5")
            self.end_headers()
            self.wfile.write(b"Linux")

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Platform)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        assert http_probe(f"{base}/platform", 2) is True
        assert http_probe(f"{base}/other", 2) is False
    finally:
        server.shutdown()
        server.server_close()
    assert http_probe(f"{base}/platform", 1) is False
