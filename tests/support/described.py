"""EC2 instances as DescribeInstances returns them, for the pure-logic unit tests that classify them."""
from __future__ import annotations

from datetime import datetime
from typing import Any

ENV_GROUP = "sg-0123456789abcdef0"


def running_instance(instance_id: str, tags: dict[str, str], groups: list[str]) -> dict[str, Any]:
    """A running VM with its tags and its interface's security groups, nothing else (no launch time)."""
    return {
        "InstanceId": instance_id,
        "State": {"Name": "running"},
        "Tags": [{"Key": key, "Value": value} for key, value in tags.items()],
        "NetworkInterfaces": [{"Groups": [{"GroupId": group} for group in groups]}],
    }


def launched_instance(
    launched: datetime, state: str = "running", reason: str = "", tags: dict[str, str] | None = None, groups: tuple[str, ...] = (ENV_GROUP,)
) -> dict[str, Any]:
    """A t3.medium launched at `launched`; `reason` is the StateTransitionReason that dates a termination."""
    return {
        "InstanceId": "i-1",
        "InstanceType": "t3.medium",
        "LaunchTime": launched,
        "State": {"Name": state},
        "StateTransitionReason": reason,
        "Tags": [{"Key": key, "Value": value} for key, value in (tags or {}).items()],
        "SecurityGroups": [],
        "NetworkInterfaces": [{"Groups": [{"GroupId": group} for group in groups]}],
    }
