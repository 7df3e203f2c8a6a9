# This module util is PRIVATE to the collection. It may change without notice.
"""Who may be reaped: the cost-leak guard behind reap.yml.

Exactly two kinds of VM are ever terminated:
(a) VMs the collection launched (`osworld:managed-by=osworld.aws`) with `osworld:role=env`
    (and `host` only when asked), whose `osworld:expires-at` has passed;
(b) VMs the OSWorld client launched itself: no `osworld:managed-by` tag, every security group
    an OSWorld env group (so a host or any other VM that merely shares the group is spared),
    launched at least `ttl_minutes` ago.
Everything else is left alone, and so is a tagged VM whose expiry cannot be read.

A run costs DescribeSecurityGroups (the env groups), DescribeInstances by the collection's
tag, DescribeInstances in the env groups' VPCs (one page per 1,000 VMs each), and one
TerminateInstances per 1,000 VMs reaped.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from .aws import AWS
from .client_vms import is_client_vm
from .client_vms import LAUNCHED_BY_CLIENT, LAUNCHED_BY_COLLECTION
from .defaults import DEFAULT_TTL_MINUTES, DEFAULT_WAIT_TIMEOUT
from .instances import LIVE_STATES, chunks, describe_instances, terminate, wait_for_state
from .options import Options, option, with_args
from .stack import find_env_security_groups
from .tags import EXPIRES_AT_KEY, FLEET_KEY, MANAGED_BY_KEY, MANAGED_BY_VALUE, ROLE_ENV, ROLE_HOST, ROLE_KEY, filters, tag_dict, tag_filters
from .timestamps import MAX_TTL_MINUTES, format_utc, parse_utc
from .validation import validate_range, validate_resource_id

REASON_EXPIRED = "expired"
REASON_CLIENT_VM = "untagged client VM past ttl"
# Values per EC2 filter.
FILTER_VALUES_LIMIT = 200


@dataclass(frozen=True)
class Verdict:
    instance_id: str
    reap: bool
    reason: str
    launched_by: str
    state: str
    fleet: str | None = None
    expires_at: str | None = None
    launch_time: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ReapPolicy(Options):
    """What to reap: the options of osworld.aws.reap."""

    ttl_minutes: int = option("int", DEFAULT_TTL_MINUTES, checks=[with_args(validate_range, 0, MAX_TTL_MINUTES)])
    expired: bool = option("bool", True)
    untagged: bool = option("bool", True)
    include_hosts: bool = option("bool", False)
    security_group_ids: Sequence[str] = option("list", [], elements="str")
    wait: bool = option("bool", False)
    wait_timeout: int = option("int", DEFAULT_WAIT_TIMEOUT)

    def validate(self) -> ReapPolicy:
        return self.checked()


def judge(instance: Mapping[str, Any], env_group_ids: Iterable[str], now: datetime, policy: ReapPolicy) -> Verdict | None:
    """The verdict on one instance; None for a VM that is not OSWorld's at all (never reported)."""
    tags = tag_dict(instance.get("Tags"))
    state = instance.get("State", {}).get("Name", "unknown")
    launch_time = parse_utc(instance.get("LaunchTime"))
    base = {
        "instance_id": instance["InstanceId"],
        "state": state,
        "fleet": tags.get(FLEET_KEY),
        "expires_at": tags.get(EXPIRES_AT_KEY),
        "launch_time": format_utc(launch_time) if launch_time else None,
    }
    if state not in LIVE_STATES:
        return None
    if MANAGED_BY_KEY in tags:
        if tags[MANAGED_BY_KEY] != MANAGED_BY_VALUE:
            return None
        role = tags.get(ROLE_KEY)
        if role != ROLE_ENV and not (role == ROLE_HOST and policy.include_hosts):
            return None
        expiry = parse_utc(tags.get(EXPIRES_AT_KEY))
        if role == ROLE_HOST and EXPIRES_AT_KEY not in tags:
            # A host gets an expiry only from osworld_host_ttl_minutes; without one it is meant to stay.
            return Verdict(reap=False, reason="host without osworld:expires-at (osworld_host_ttl_minutes unset)", launched_by=LAUNCHED_BY_COLLECTION, **base)
        if expiry is None:
            return Verdict(reap=False, reason="no readable osworld:expires-at: never reaped", launched_by=LAUNCHED_BY_COLLECTION, **base)
        if not policy.expired or expiry > now:
            return Verdict(reap=False, reason="not expired", launched_by=LAUNCHED_BY_COLLECTION, **base)
        return Verdict(reap=True, reason=REASON_EXPIRED, launched_by=LAUNCHED_BY_COLLECTION, **base)
    if not is_client_vm(instance, tags, set(env_group_ids)):
        return None
    if launch_time is None:
        return Verdict(reap=False, reason="no launch time: never reaped", launched_by=LAUNCHED_BY_CLIENT, **base)
    if not policy.untagged or now - launch_time < timedelta(minutes=policy.ttl_minutes):
        return Verdict(reap=False, reason="younger than ttl", launched_by=LAUNCHED_BY_CLIENT, **base)
    return Verdict(reap=True, reason=REASON_CLIENT_VM, launched_by=LAUNCHED_BY_CLIENT, **base)


def select(instances: Iterable[Mapping[str, Any]], env_group_ids: Iterable[str], now: datetime, policy: ReapPolicy) -> list[Verdict]:
    """Verdicts on every OSWorld VM among `instances` (each id once), sorted by instance id."""
    groups = set(env_group_ids)
    verdicts: dict[str, Verdict] = {}
    for instance in instances:
        verdict = judge(instance, groups, now, policy)
        if verdict is not None:
            verdicts[verdict.instance_id] = verdict
    return [verdicts[instance_id] for instance_id in sorted(verdicts)]


# ---------------------------------------------------------------------------------------------
# AWS


def candidates(aws: AWS, policy: ReapPolicy, extra_env_group_ids: Sequence[str]) -> tuple[list[dict[str, Any]], set[str]]:
    """The collection's VMs, and every VM in the VPCs of the env groups (the client's VMs are among them)."""
    groups = find_env_security_groups(aws)
    env_group_ids = {group["GroupId"] for group in groups}
    vpc_ids = {group["VpcId"] for group in groups}
    extra = [validate_resource_id(group_id, "sg", "security_group_ids") for group_id in extra_env_group_ids if group_id not in env_group_ids]
    if extra:
        described = aws.paginate("ec2", "describe_security_groups", "SecurityGroups[]", GroupIds=sorted(extra))
        env_group_ids.update(group["GroupId"] for group in described)
        vpc_ids.update(group["VpcId"] for group in described)
    roles = [ROLE_ENV, ROLE_HOST] if policy.include_hosts else [ROLE_ENV]
    tagged_filters = tag_filters({MANAGED_BY_KEY: MANAGED_BY_VALUE}) + filters(**{f"tag:{ROLE_KEY}": roles, "instance_state_name": list(LIVE_STATES)})
    instances = describe_instances(aws, tagged_filters)
    if policy.untagged:
        # Membership filters (instance.group-id) miss interface-launched VMs on some endpoints, so the
        # client's VMs are found by VPC and judged by their groups client-side.
        for vpc_chunk in chunks(sorted(vpc_ids), FILTER_VALUES_LIMIT):
            instances.extend(describe_instances(aws, filters(vpc_id=vpc_chunk, instance_state_name=list(LIVE_STATES))))
    return instances, env_group_ids


def reap(
    aws: AWS,
    policy: ReapPolicy,
    check_mode: bool,
    extra_env_group_ids: Sequence[str] = (),
    wait: bool = False,
    wait_timeout: int = DEFAULT_WAIT_TIMEOUT,
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    policy.validate()
    instances, env_group_ids = candidates(aws, policy, extra_env_group_ids)
    verdicts = select(instances, env_group_ids, now(), policy)
    doomed = [verdict for verdict in verdicts if verdict.reap]
    doomed_ids = [verdict.instance_id for verdict in doomed]
    if doomed_ids and not check_mode:
        terminate(aws, doomed_ids)
        if wait:
            wait_for_state(aws, doomed_ids, "terminated", wait_timeout, sleep)
    unreadable = [verdict.instance_id for verdict in verdicts if not verdict.reap and "never reaped" in verdict.reason]
    warnings = []
    if unreadable:
        warnings.append(f"{len(unreadable)} OSWorld VMs have no readable expiry and are never reaped: {', '.join(unreadable[:10])}")
    return {
        "changed": bool(doomed_ids),
        "reaped": [verdict.as_dict() for verdict in doomed],
        "kept": [verdict.as_dict() for verdict in verdicts if not verdict.reap],
        "env_security_group_ids": sorted(env_group_ids),
        "warnings": warnings,
        "diff": {"before": {"reapable": doomed_ids}, "after": {"reapable": []}},
    }
