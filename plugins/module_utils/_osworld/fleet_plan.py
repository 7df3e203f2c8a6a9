# This module util is PRIVATE to the collection. It may change without notice.
"""A fleet's plan, without a call: its members as AWS describes them, who goes when it shrinks,
the RunInstances request and its ClientToken, and the views the playbooks print.

fleet.py asks AWS and acts on the plan; planning reads only the few fields of a FleetSpec that a
launch needs (LaunchRequest), so it depends on nothing of fleet.py.
"""
from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol

from .instances import API_BATCH, LIVE_STATES
from .stack import StackNetwork
from .tags import (
    EXPIRES_AT_KEY,
    FLEET_KEY,
    MANAGED_BY_KEY,
    MANAGED_BY_VALUE,
    NAME_KEY,
    ROLE_ENV,
    ROLE_KEY,
    STACK_KEY,
    expiry_after,
    filters,
    merge_extra_tags,
    tag_dict,
    tag_filters,
    tag_specifications,
)
from .timestamps import format_utc, parse_utc
from .urls import backend_url, vnc_url
from .validation import ALL_FLEETS

IDLE_STATES = ("stopping", "stopped")

# A re-used ClientToken returns the original launch, even of instances terminated since (a fleet
# scaled 0 -> N -> 0 -> N asks the same question twice). The next tokens stay derived from the
# request so that a crashed retry still replays its own launch; past these, a random one.
DETERMINISTIC_SALTS = 4
TOKEN_VERSION = 1

# The OSWorld client's root volume: 30 GB gp3 at 4,000 IOPS and 1,000 MB/s (gp3's maximum for 4,000 IOPS).
ROOT_VOLUME = {"VolumeSize": 30, "VolumeType": "gp3", "Iops": 4000, "Throughput": 1000, "DeleteOnTermination": True}


class LaunchRequest(Protocol):
    """What the plan reads of a fleet.FleetSpec (which is one)."""

    @property
    def fleet(self) -> str: ...

    @property
    def stack(self) -> str: ...

    @property
    def instance_type(self) -> str: ...

    @property
    def key_name(self) -> str | None: ...

    @property
    def ttl_minutes(self) -> int: ...

    @property
    def extra_tags(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class Member:
    instance_id: str
    state: str
    launch_time: datetime
    expires_at: datetime | None
    raw: Mapping[str, Any]

    @classmethod
    def from_instance(cls, instance: Mapping[str, Any]) -> Member:
        tags = tag_dict(instance.get("Tags"))
        return cls(
            instance_id=instance["InstanceId"],
            state=instance.get("State", {}).get("Name", "unknown"),
            launch_time=launch_time_of(instance),
            expires_at=parse_utc(tags.get(EXPIRES_AT_KEY)),
            raw=instance,
        )


@dataclass(frozen=True)
class ScalePlan:
    launch: int
    terminate: tuple[str, ...]

    @property
    def changes(self) -> bool:
        return bool(self.launch or self.terminate)


def termination_order(members: Iterable[Member], now: datetime) -> list[Member]:
    """Who goes first when a fleet shrinks: VMs already due, then stopped ones, then the newest.

    The oldest running VMs are the ones most likely booted and in use by an evaluation.
    """

    def key(member: Member) -> tuple[int, int, float, str]:
        expired = member.expires_at is not None and member.expires_at <= now
        return (0 if expired else 1, 0 if member.state in IDLE_STATES else 1, -member.launch_time.timestamp(), member.instance_id)

    return sorted(members, key=key)


def plan_scale(members: Sequence[Member], count: int, now: datetime) -> ScalePlan:
    if len(members) <= count:
        return ScalePlan(launch=count - len(members), terminate=())
    extras = termination_order(members, now)[: len(members) - count]
    return ScalePlan(launch=0, terminate=tuple(sorted(member.instance_id for member in extras)))


def batches(total: int, limit: int = API_BATCH) -> list[int]:
    return [min(limit, total - start) for start in range(0, total, limit)]


def client_token(fleet: str, region: str, existing_ids: Iterable[str], missing: int, batch_index: int, salt: int | str = 0) -> str:
    """A RunInstances token derived from the question asked, so that asking it again replays the answer.

    An interrupted run that re-runs before its launch is visible to DescribeInstances sends the
    same token and gets its own instances back instead of a second set.
    """
    material = json.dumps([TOKEN_VERSION, fleet, region, sorted(existing_ids), missing, batch_index, salt], separators=(",", ":"))
    # ClientToken: at most 64 ASCII characters.
    return "osworld-" + hashlib.sha256(material.encode()).hexdigest()[:56]


def token_salts() -> list[int | str]:
    return [*range(DETERMINISTIC_SALTS), secrets.token_hex(8)]


def is_replay(returned: Sequence[Mapping[str, Any]], requested: int, known_ids: Iterable[str]) -> bool:
    """True when RunInstances answered with an earlier launch of the same token, not a new one."""
    known = set(known_ids)
    if len(returned) != requested:
        return True
    for instance in returned:
        if instance["InstanceId"] in known or instance.get("State", {}).get("Name") not in ("pending", "running"):
            return True
    return False


def instance_tags(spec: LaunchRequest, now: datetime) -> dict[str, str]:
    own = {
        MANAGED_BY_KEY: MANAGED_BY_VALUE,
        ROLE_KEY: ROLE_ENV,
        FLEET_KEY: spec.fleet,
        EXPIRES_AT_KEY: expiry_after(now, spec.ttl_minutes),
        STACK_KEY: spec.stack,
        NAME_KEY: f"{spec.stack}-env-{spec.fleet}",
    }
    return merge_extra_tags(own, spec.extra_tags)


@dataclass(frozen=True)
class LaunchTarget:
    """Everything RunInstances needs beyond the count, checked once per scale-up."""

    image_id: str
    root_device_name: str
    network: StackNetwork
    warnings: tuple[str, ...] = ()


def run_instances_request(spec: LaunchRequest, target: LaunchTarget, count: int, tags: Mapping[str, str], token: str) -> dict[str, Any]:
    """The launch OSWorld's own client makes, for `count` VMs at once, tagged by the call itself."""
    request: dict[str, Any] = {
        "ImageId": target.image_id,
        "InstanceType": spec.instance_type,
        "MinCount": count,
        "MaxCount": count,
        "ClientToken": token,
        "EbsOptimized": True,
        "InstanceInitiatedShutdownBehavior": "terminate",
        "NetworkInterfaces": [
            {
                "DeviceIndex": 0,
                "SubnetId": target.network.subnet_id,
                "Groups": [target.network.env_security_group_id],
                "AssociatePublicIpAddress": True,
                "DeleteOnTermination": True,
            }
        ],
        "BlockDeviceMappings": [{"DeviceName": target.root_device_name, "Ebs": dict(ROOT_VOLUME)}],
        "TagSpecifications": tag_specifications(["instance", "volume", "network-interface"], tags),
    }
    if spec.key_name:
        request["KeyName"] = spec.key_name
    return request


def fleet_filters(fleet: str, states: Sequence[str] = LIVE_STATES) -> list[dict[str, Any]]:
    wanted = {MANAGED_BY_KEY: MANAGED_BY_VALUE, ROLE_KEY: ROLE_ENV}
    if fleet != ALL_FLEETS:
        wanted[FLEET_KEY] = fleet
    return tag_filters(wanted) + filters(instance_state_name=list(states))


def instance_view(instance: Mapping[str, Any]) -> dict[str, Any]:
    """One VM as the playbooks print it and the OSWorld client reaches it."""
    tags = tag_dict(instance.get("Tags"))
    private_ip = instance.get("PrivateIpAddress")
    public_ip = instance.get("PublicIpAddress")
    launch_time = instance.get("LaunchTime")
    return {
        "instance_id": instance["InstanceId"],
        "state": instance.get("State", {}).get("Name"),
        "fleet": tags.get(FLEET_KEY),
        "stack": tags.get(STACK_KEY),
        "instance_type": instance.get("InstanceType"),
        "image_id": instance.get("ImageId"),
        "subnet_id": instance.get("SubnetId"),
        "private_ip": private_ip,
        "public_ip": public_ip,
        "vnc_url": vnc_url(public_ip),
        "backend_url": backend_url(private_ip),
        "expires_at": tags.get(EXPIRES_AT_KEY),
        "launch_time": format_utc(launch_time_of(instance)) if launch_time else None,
    }


def fleet_diff(before_ids: Iterable[str], after_ids: Iterable[str]) -> dict[str, Any]:
    before, after = sorted(before_ids), sorted(after_ids)
    return {"before": {"count": len(before), "instance_ids": before}, "after": {"count": len(after), "instance_ids": after}}


def launch_time_of(instance: Mapping[str, Any]) -> datetime:
    # An instance without a readable launch time sorts as the oldest, so it is never picked as "newest".
    return parse_utc(instance.get("LaunchTime")) or datetime.fromtimestamp(0, timezone.utc)
