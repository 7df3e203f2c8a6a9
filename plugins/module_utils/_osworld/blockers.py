# This module util is PRIVATE to the collection. It may change without notice.
"""What keeps a security group or a network from being deleted, by name: a teardown says what is
in the way (which fleet, the host, the OSWorld client, someone else's VM) instead of timing out."""
from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from .aws import AWS, RELEASE_CODE, RELEASE_DELAYS
from .client_vms import is_client_vm, security_group_ids
from .errors import AWSCallError, OSWorldError
from .tags import FLEET_KEY, NAME_KEY, ROLE_KEY, STACK_KEY, filters, is_managed, tag_dict

# Every state in which an instance still holds its network interface.
HOLDING_STATES = ("pending", "running", "stopping", "stopped", "shutting-down")
CLIENT = "OSWorld client"
SHOWN = 10


def instances_in_groups(aws: AWS, group_ids: Collection[str], vpc_ids: Iterable[str]) -> list[dict[str, Any]]:
    """Instances in any of the groups: one DescribeInstances per VPC page. Membership filters miss
    VMs launched with the groups on their interface (the OSWorld client's way) on some endpoints,
    so membership is read from each instance."""
    vpcs = sorted(set(vpc_ids))
    if not vpcs or not group_ids:
        return []
    instances = aws.paginate(
        "ec2", "describe_instances", "Reservations[].Instances[]", Filters=filters(vpc_id=vpcs, instance_state_name=list(HOLDING_STATES))
    )
    return sorted((i for i in instances if security_group_ids(i) & set(group_ids)), key=lambda instance: str(instance["InstanceId"]))


def owner(instance: Mapping[str, Any], env_group_ids: Collection[str]) -> str:
    """Who launched the instance, as a teardown message names it."""
    tags = tag_dict(instance.get("Tags"))
    if is_managed(tags):
        role = tags.get(ROLE_KEY)
        if role == "env":
            return f"fleet {tags.get(FLEET_KEY, '?')}"
        if role == "host":
            return f"host of stack {tags.get(STACK_KEY, '?')}"
        return "osworld.aws"
    if is_client_vm(instance, tags, env_group_ids):
        return CLIENT
    name = tags.get(NAME_KEY)
    return f"not OSWorld's{f', Name {name}' if name else ''}"


def is_client(instance: Mapping[str, Any], env_group_ids: Collection[str]) -> bool:
    return owner(instance, env_group_ids) == CLIENT


def describe(instances: Sequence[Mapping[str, Any]], env_group_ids: Collection[str]) -> str:
    listed = ", ".join(
        f"{instance['InstanceId']} ({owner(instance, env_group_ids)}, {instance.get('State', {}).get('Name', '?')})" for instance in instances[:SHOWN]
    )
    more = f" and {len(instances) - SHOWN} more" if len(instances) > SHOWN else ""
    return listed + more


def advice(instances: Sequence[Mapping[str, Any]], env_group_ids: Collection[str]) -> str:
    owners = {owner(instance, env_group_ids) for instance in instances}
    steps = []
    if any(who.startswith("fleet ") for who in owners):
        steps.append("terminate the other fleets (teardown.yml -e osworld_fleet=all)")
    if CLIENT in owners:
        steps.append("terminate the OSWorld client's VMs (osworld_teardown_client_vms=true)")
    if any(who.startswith("not OSWorld") for who in owners):
        steps.append("move or terminate the VMs that are not OSWorld's (the collection never touches them)")
    if any(who.startswith("host") for who in owners):
        steps.append("terminate the host (osworld_teardown_host=true)")
    return "; ".join(steps) or "wait until they are terminated and run teardown again"


def interfaces_in(aws: AWS, **by: str) -> str:
    """The network interfaces left (e.g. group_id=sg-..., vpc_id=vpc-...), for a DependencyViolation
    that outlived the retries; empty when they cannot be listed."""
    try:
        found = aws.paginate("ec2", "describe_network_interfaces", "NetworkInterfaces[]", Filters=filters(**by))
    except AWSCallError:
        return ""
    names = []
    for interface in found[:SHOWN]:
        attached = (interface.get("Attachment") or {}).get("InstanceId")
        names.append(f"{interface['NetworkInterfaceId']} ({f'instance {attached}' if attached else interface.get('Description') or 'unattached'})")
    return ", ".join(names)


def delete_when_released(aws: AWS, operation: str, where: Mapping[str, str], advice: str, *, missing_ok: bool = False, **kwargs: Any) -> None:
    """A delete that waits while a terminated VM's network interface lingers (AWS.call's
    wait_for_release); when that is not enough, never a bare timeout: the error names the
    interfaces still in `where` (vpc_id=... or group_id=...) and what to do."""
    try:
        aws.call("ec2", operation, wait_for_release=True, missing_ok=missing_ok, **kwargs)
    except AWSCallError as exc:
        if exc.code != RELEASE_CODE:
            raise
        left = interfaces_in(aws, **where)
        place = ", ".join(where.values())
        raise OSWorldError(
            f"{exc.operation}: {place} still in use after {int(sum(RELEASE_DELAYS))} s of retries "
            f"({f'network interfaces left: {left}' if left else exc.aws_message}); {advice}"
        ) from exc
