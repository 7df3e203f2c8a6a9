"""fleet.py: the spec's checks before any call, and the launch against a scripted AWS (ClientToken salts, concurrent runs, batches)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from ansible_collections.osworld.aws.plugins.module_utils._osworld.errors import AWSCallError, OSWorldError
from ansible_collections.osworld.aws.plugins.module_utils._osworld.fleet import (
    FleetChanged,
    FleetSpec,
    Runtime,
    launch,
    settle_after_launch,
    validate_spec,
)
from ansible_collections.osworld.aws.plugins.module_utils._osworld.fleet_plan import DETERMINISTIC_SALTS, LaunchTarget, Member, client_token
from ansible_collections.osworld.aws.plugins.module_utils._osworld.stack import PLANNED_ID, StackNetwork
from tests.support.scripted_aws import FakeClock, ScriptedAWS

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
AMI = "ami-0d23263edb96951d8"
NETWORK = StackNetwork("vpc-0123456789abcdef0", "subnet-0123456789abcdef0", "sg-0123456789abcdef0")
TARGET = LaunchTarget(AMI, "/dev/sda1", NETWORK)


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


# --- after the launch: the wait is the re-count ------------------------------------------------


def fleet_answers(listings: list[list[dict[str, Any]]], by_id: dict[str, str] | None = None) -> ScriptedAWS:
    """Each DescribeInstances by the fleet's tags answers the next listing; one by id, `by_id`'s states."""
    polls = iter(listings)

    def answer(operation: str, kwargs: dict[str, Any]) -> Any:
        if operation == "describe_instances" and "InstanceIds" in kwargs:
            return {"Reservations": [{"Instances": fake_instances([i for i in kwargs["InstanceIds"] if i in (by_id or {})], "running")}]}
        if operation == "describe_instances":
            return next(polls)
        return {}

    return ScriptedAWS(answer)


def settle(aws: ScriptedAWS, count: int, launched: list[str], before: list[Member] | None = None) -> tuple[list[str], list[str]]:
    clock = FakeClock()
    runtime = Runtime(now=lambda: NOW, sleep=clock.sleep, clock=clock, interval=5)
    final, surplus = settle_after_launch(aws, FleetSpec(fleet="f", count=count), before or [], launched, runtime)
    return sorted(final), surplus


def test_waiting_for_a_launch_lists_the_fleet_once_a_poll_and_the_last_listing_is_the_count() -> None:
    aws = fleet_answers([fake_instances(["i-1", "i-2"], "pending"), fake_instances(["i-1", "i-2"], "running")])
    assert settle(aws, 2, ["i-1", "i-2"]) == (["i-1", "i-2"], [])
    assert aws.operations() == ["describe_instances", "describe_instances"]


def test_a_launch_the_tag_filter_does_not_show_yet_is_read_by_id_and_counted() -> None:
    aws = fleet_answers([fake_instances(["i-1"], "running")], by_id={"i-2": "running"})
    assert settle(aws, 2, ["i-1", "i-2"]) == (["i-1", "i-2"], [])
    assert [sorted(call[1]) for call in aws.calls] == [["Filters", "PaginationConfig"], ["InstanceIds"]]
    assert aws.calls[1][1]["InstanceIds"] == ["i-2"]


def test_a_crashed_runs_launch_found_in_the_count_is_terminated_as_surplus() -> None:
    crashed = {"InstanceId": "i-0", "State": {"Name": "running"}, "LaunchTime": datetime(2026, 1, 1, 11, 59, tzinfo=timezone.utc)}
    listing = [crashed, *fake_instances(["i-1", "i-2"], "running")]
    aws = fleet_answers([listing, [], []])
    final, surplus = settle(aws, 2, ["i-1", "i-2"])
    assert len(final) == 2 and len(surplus) == 1
    assert ("terminate_instances", {"InstanceIds": surplus}) in aws.calls


def test_without_a_wait_the_count_is_one_listing() -> None:
    aws = fleet_answers([fake_instances(["i-1"], "pending")])
    clock = FakeClock()
    runtime = Runtime(now=lambda: NOW, sleep=clock.sleep, clock=clock, interval=5)
    final, surplus = settle_after_launch(aws, FleetSpec(fleet="f", count=1, wait=False), [], ["i-1"], runtime)
    assert (sorted(final), surplus, aws.operations()) == (["i-1"], [], ["describe_instances"])
