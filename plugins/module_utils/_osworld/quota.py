# This module util is PRIVATE to the collection. It may change without notice.
"""The On-Demand vCPU quota: will N more VMs of a type fit next to what already runs?

The quota counts the vCPUs of every running instance of its families, so the room left is the
quota minus what runs now. A fleet being scaled to a target count does not count against itself
(envs.yml's count is a target, not an addition). Cost: GetServiceQuota, then, when it answers,
DescribeInstances (pending and running, one page per 1,000) and, only for types outside
KNOWN_TYPE_VCPUS, DescribeInstanceTypes (the requested type, plus any running type whose vCPUs
the instance itself does not report).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .aws import AWS
from .errors import AWSCallError
from .instances import describe_instances
from .tags import FLEET_KEY, MANAGED_BY_KEY, MANAGED_BY_VALUE, ROLE_KEY, filters, tag_dict

# Service Quotas codes of the on-demand vCPU quotas, by instance family.
STANDARD_VCPU_QUOTA = "L-1216C47A"
VCPU_QUOTAS = {
    "standard": (STANDARD_VCPU_QUOTA, "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances"),
    "g": ("L-DB2E81BA", "Running On-Demand G and VT instances"),
    "p": ("L-417A185B", "Running On-Demand P instances"),
    "x": ("L-7295265B", "Running On-Demand X instances"),
    "f": ("L-74FC7D96", "Running On-Demand F instances"),
    "inf": ("L-1945791B", "Running On-Demand Inf instances"),
}
STANDARD_FAMILY_LETTERS = frozenset("acdhimrtz")
# Above this share of the room left, the request leaves little for anything else that starts.
QUOTA_WARNING_SHARE = 0.8
# Instances that count against a running-instances quota.
COUNTED_STATES = ("pending", "running")
# DescribeInstanceTypes takes at most 100 types per request.
TYPES_PER_CALL = 100
# The default vCPUs of the types OSWorld VMs usually run on. A type's vCPU count is fixed when
# AWS introduces it, so knowing these saves the launch a DescribeInstanceTypes; any other type
# is asked for. Whether a type is offered at all is the instance_type check's business.
KNOWN_TYPE_VCPUS: dict[str, int] = {
    **{f"{family}.{size}": 2 for family in ("t3", "t3a") for size in ("nano", "micro", "small", "medium", "large")},
    **{f"{family}.{size}": vcpus for family in ("t3", "t3a") for size, vcpus in (("xlarge", 4), ("2xlarge", 8))},
    **{
        f"{family}.{size}": vcpus
        for family in ("m5", "m6i", "c5", "c6i", "r5", "r6i")
        for size, vcpus in (("large", 2), ("xlarge", 4), ("2xlarge", 8), ("4xlarge", 16))
    },
}

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class QuotaVerdict:
    """What the check found: a finding (level + message), or a reason it was skipped."""

    level: str | None = None
    variable: str = ""
    message: str = ""
    skipped: str = ""
    facts: dict[str, Any] = field(default_factory=dict)


def vcpu_quota_for(instance_type: str) -> tuple[str, str] | None:
    """The on-demand vCPU quota (code, name) that an instance type counts against; None if unknown."""
    family = re.match(r"^([a-z]+)", instance_type)
    letters = family.group(1) if family else ""
    if letters in ("inf", "vt"):
        return VCPU_QUOTAS["inf" if letters == "inf" else "g"]
    if letters in ("dl", "trn", "hpc", "mac", "u"):
        return None
    if letters[:1] in STANDARD_FAMILY_LETTERS:
        return VCPU_QUOTAS["standard"]
    return VCPU_QUOTAS.get(letters[:1])


def quota_verdict(
    variable: str,
    instance_type: str,
    count: int,
    vcpus: int,
    in_use: int,
    quota: float,
    quota_code: str,
    quota_name: str,
    region: str,
) -> QuotaVerdict:
    """Pure: compares what is asked for with the quota minus what runs; names both numbers."""
    needed = count * vcpus
    room = max(0, int(quota) - in_use)
    facts = {"vcpus_needed": needed, "vcpus_in_use": in_use, "vcpu_quota": int(quota), "vcpus_available": room}
    detail = (
        f"{count} x {instance_type} need {needed} vCPUs, but the quota {quota_code} ({quota_name}) in {region} is {int(quota)} "
        f"and running instances already use {in_use}, leaving {room}"
    )
    if needed > room:
        return QuotaVerdict(ERROR, variable, f"{variable}: {detail}: lower {variable}, stop other instances or request a quota increase", facts=facts)
    if needed > QUOTA_WARNING_SHARE * room:
        return QuotaVerdict(WARNING, variable, f"{variable}: {detail.replace(', but', ';')}: little room for anything else", facts=facts)
    return QuotaVerdict(facts=facts)


def in_same_quota(instance_type: str, quota_code: str) -> bool:
    quota = vcpu_quota_for(instance_type)
    return quota is not None and quota[0] == quota_code


def is_fleet_member(tags: Mapping[str, str], fleet: str | None) -> bool:
    return bool(fleet) and tags.get(MANAGED_BY_KEY) == MANAGED_BY_VALUE and tags.get(ROLE_KEY) == "env" and tags.get(FLEET_KEY) == fleet


def vcpus_in_use(instances: Iterable[Mapping[str, Any]], quota_code: str, type_vcpus: Mapping[str, int], exclude_fleet: str | None) -> int:
    """Pure: the vCPUs that running instances of the quota's families hold, a scaled fleet's own VMs aside."""
    total = 0
    for instance in instances:
        instance_type = str(instance.get("InstanceType", ""))
        if not in_same_quota(instance_type, quota_code) or is_fleet_member(tag_dict(instance.get("Tags")), exclude_fleet):
            continue
        total += instance_vcpus(instance) or type_vcpus.get(instance_type, 0)
    return total


def instance_vcpus(instance: Mapping[str, Any]) -> int | None:
    cpu = instance.get("CpuOptions") or {}
    if cpu.get("CoreCount") and cpu.get("ThreadsPerCore"):
        return int(cpu["CoreCount"]) * int(cpu["ThreadsPerCore"])
    return None


def type_vcpus_of(aws: AWS, instance_types: Iterable[str]) -> dict[str, int]:
    """The default vCPUs of each type: KNOWN_TYPE_VCPUS, then DescribeInstanceTypes for the rest (absent if AWS knows none)."""
    wanted = set(instance_types)
    found = {name: KNOWN_TYPE_VCPUS[name] for name in wanted if name in KNOWN_TYPE_VCPUS}
    found.update(describe_type_vcpus(aws, sorted(wanted - set(found))))
    return found


def describe_type_vcpus(aws: AWS, instance_types: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    wanted = sorted(set(instance_types))
    for start in range(0, len(wanted), TYPES_PER_CALL):
        try:
            described = aws.call("ec2", "describe_instance_types", InstanceTypes=wanted[start : start + TYPES_PER_CALL])
        except AWSCallError as exc:
            if exc.code != "InvalidInstanceType":
                raise
            continue
        for item in described.get("InstanceTypes", []):
            found[str(item["InstanceType"])] = int(item["VCpuInfo"]["DefaultVCpus"])
    return found


def check_quota(aws: AWS, instance_type: str, count: int, variable: str, exclude_fleet: str | None = None) -> QuotaVerdict:
    """Whether `count` more VMs of `instance_type` fit the quota minus what runs (see the module docstring)."""
    quota = vcpu_quota_for(instance_type)
    if quota is None:
        return QuotaVerdict(skipped=f"no known on-demand vCPU quota for {instance_type}")
    code, name = quota
    try:
        value = float(aws.call("service-quotas", "get_service_quota", ServiceCode="ec2", QuotaCode=code)["Quota"]["Value"])
    except AWSCallError as exc:
        # Service Quotas is optional: some endpoints (emulators, some partitions) do not answer.
        reason = f"Service Quotas did not answer for {code} ({exc.code}); the vCPU quota was not checked"
        return QuotaVerdict(WARNING, variable, f"{variable}: {reason}", skipped=reason)
    running = describe_instances(aws, filters(instance_state_name=list(COUNTED_STATES)))
    unknown = {str(item.get("InstanceType")) for item in running if instance_vcpus(item) is None and in_same_quota(str(item.get("InstanceType", "")), code)}
    type_vcpus = type_vcpus_of(aws, unknown | {instance_type})
    if instance_type not in type_vcpus:
        return QuotaVerdict(ERROR, "osworld_instance_type", f"osworld_instance_type: {instance_type} is not an instance type known in {aws.region}")
    in_use = vcpus_in_use(running, code, type_vcpus, exclude_fleet)
    return quota_verdict(variable, instance_type, count, type_vcpus[instance_type], in_use, value, code, name, aws.region)
