# This module util is PRIVATE to the collection. It may change without notice.
"""EC2 instances in bulk: the listing, batching, termination and state polling that fleets, the reaper and
evaluation runs share. Every helper here costs one request per 1,000 instances."""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from .aws import AWS
from .errors import OSWorldError

LIVE_STATES = ("pending", "running", "stopping", "stopped")

# TerminateInstances takes at most 1,000 ids per request, and a DescribeInstances answer by
# InstanceIds is a single page; RunInstances documents no per-request ceiling of its own (only
# the account's vCPU quota), so launching in batches of the same 1,000 keeps every launched
# batch terminable and pollable with one request each.
API_BATCH = 1000
# DescribeInstances' largest page when filtering.
PAGE_SIZE = 1000

POLL_INTERVAL = 5.0

Sleep = Callable[[float], None]
Clock = Callable[[], float]
# Reads the waited-for ids once a poll: what it does not return counts as gone.
Describe = Callable[[Sequence[str]], dict[str, dict[str, Any]]]


def describe_instances(aws: AWS, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every instance the filters match, in pages of PAGE_SIZE."""
    found: list[dict[str, Any]] = aws.paginate(
        "ec2", "describe_instances", "Reservations[].Instances[]", Filters=filters, PaginationConfig={"PageSize": PAGE_SIZE}
    )
    return found


def chunks(items: Sequence[str], size: int = API_BATCH) -> list[list[str]]:
    return [list(items[start : start + size]) for start in range(0, len(items), size)]


def wait_for_state(
    aws: AWS,
    instance_ids: Sequence[str],
    target: str,
    timeout: float,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
    interval: float = POLL_INTERVAL,
    describe: Describe | None = None,
) -> dict[str, dict[str, Any]]:
    """Polls every id until all reach `target` (running or terminated): by id, one DescribeInstances per
    1,000, unless `describe` reads them another way (a fleet re-counted by its tags as it waits).

    Fails when a VM we wait to run ends up elsewhere (capacity, a volume limit) or when `timeout` passes.
    """
    gone_ok = target == "terminated"
    read = describe or (lambda ids: describe_by_ids(aws, ids, gone_ok))
    deadline = clock() + timeout
    waiting = sorted(set(instance_ids))
    final: dict[str, dict[str, Any]] = {}
    while waiting:
        described = read(waiting)
        still = []
        for instance_id in waiting:
            instance = described.get(instance_id)
            state = instance.get("State", {}).get("Name") if instance else "terminated"
            if state == target:
                final[instance_id] = instance or {"InstanceId": instance_id, "State": {"Name": state}}
            elif target == "running" and state not in ("pending",):
                reason = (instance or {}).get("StateReason", {}).get("Message", "no reason given")
                raise OSWorldError(f"{instance_id} went to {state} instead of running: {reason}", instance_id=instance_id)
            else:
                still.append(instance_id)
        waiting = still
        if not waiting:
            break
        remaining = deadline - clock()
        if remaining <= 0:
            raise OSWorldError(
                f"{len(waiting)} VMs not {target} after {int(timeout)} s ({', '.join(waiting[:10])}); raise wait_timeout or run again",
                waiting=waiting,
            )
        sleep(min(interval, remaining))
    return final


def describe_by_ids(aws: AWS, instance_ids: Sequence[str], gone_ok: bool) -> dict[str, dict[str, Any]]:
    """The instances by id, one DescribeInstances per 1,000; `gone_ok`: an id AWS no longer knows is left out."""
    described: dict[str, dict[str, Any]] = {}
    for chunk in chunks(instance_ids):
        # Right after RunInstances the new ids may be unknown for a moment: that is retried, not fatal.
        # Terminated instances stay listed for about an hour; one that is already purged is gone.
        response = aws.call("ec2", "describe_instances", wait_for_consistency=not gone_ok, missing_ok=gone_ok, InstanceIds=chunk)
        for reservation in (response or {}).get("Reservations", []):
            described.update((instance["InstanceId"], instance) for instance in reservation.get("Instances", []))
    return described


def terminate(aws: AWS, instance_ids: Sequence[str]) -> None:
    for chunk in chunks(sorted(instance_ids)):
        aws.call("ec2", "terminate_instances", InstanceIds=chunk)
