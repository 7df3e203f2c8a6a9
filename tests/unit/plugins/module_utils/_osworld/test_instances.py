"""instances.py: waits for a whole batch of VMs, one DescribeInstances per poll, bounded in time."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ansible_collections.osworld.aws.plugins.module_utils._osworld.errors import AWSCallError, OSWorldError
from ansible_collections.osworld.aws.plugins.module_utils._osworld.instances import PAGE_SIZE, describe_instances, wait_for_state
from tests.support.scripted_aws import FakeClock, ScriptedAWS


# --- waits -----------------------------------------------------------------------------------


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


def test_a_listing_is_one_describe_instances_in_the_largest_pages() -> None:
    wanted = [{"Name": "tag:osworld:fleet", "Values": ["f"]}]
    aws = ScriptedAWS(lambda operation, kwargs: [{"InstanceId": "i-1"}])
    assert describe_instances(aws, wanted) == [{"InstanceId": "i-1"}]
    assert aws.calls == [("describe_instances", {"Filters": wanted, "PaginationConfig": {"PageSize": PAGE_SIZE}})]
