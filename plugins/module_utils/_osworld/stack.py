# This module util is PRIVATE to the collection. It may change without notice.
"""Finds what provision.yml created (a stack), by the collection's tags."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .aws import AWS
from .errors import OSWorldError
from .tags import COMPONENT_KEY, MANAGED_BY_KEY, MANAGED_BY_VALUE, STACK_KEY, SUBNET_KEY, is_managed, stack_identity, tag_dict, tag_filters

COMPONENT_VPC = "vpc"
COMPONENT_SUBNET = "subnet"
COMPONENT_INTERNET_GATEWAY = "internet-gateway"
COMPONENT_ROUTE_TABLE = "route-table"
COMPONENT_ENV_SECURITY_GROUP = "env-security-group"
COMPONENT_HOST_SECURITY_GROUP = "host-security-group"
# Stands for the id of a resource that check mode would create; tested with is_planned() only.
PLANNED_ID = "(created)"


@dataclass(frozen=True)
class StackNetwork:
    """The ids an env VM launch needs, wherever they came from (created or adopted)."""

    vpc_id: str
    subnet_id: str
    env_security_group_id: str
    host_security_group_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_planned(*resource_ids: object) -> bool:
    """True when any of the ids stands for a resource that check mode only plans (PLANNED_ID)."""
    return PLANNED_ID in resource_ids


def find_env_security_groups(aws: AWS, stack: str | None = None) -> list[dict[str, Any]]:
    """Every env security group the collection made in this region (one stack's when named)."""
    wanted = {MANAGED_BY_KEY: MANAGED_BY_VALUE, COMPONENT_KEY: COMPONENT_ENV_SECURITY_GROUP}
    if stack:
        wanted[STACK_KEY] = stack
    return aws.paginate("ec2", "describe_security_groups", "SecurityGroups[]", Filters=tag_filters(wanted))


def find_stack_network(
    aws: AWS, stack: str, subnet_id: str | None = None, security_group_id: str | None = None
) -> StackNetwork:
    """The stack's subnet and security groups in one call; explicit ids win over the tag lookup.

    provision.yml tags the env security group with the subnet it chose (created or adopted),
    so an adopted subnet, which the collection never tags, is found again too.
    """
    groups = aws.paginate(
        "ec2",
        "describe_security_groups",
        "SecurityGroups[]",
        Filters=tag_filters(stack_identity(stack)),
    )
    by_component = {tag_dict(group.get("Tags")).get(COMPONENT_KEY): group for group in groups}
    env_group = by_component.get(COMPONENT_ENV_SECURITY_GROUP)
    host_group = by_component.get(COMPONENT_HOST_SECURITY_GROUP)
    if security_group_id:
        env_group = _describe_group(aws, security_group_id)
    if env_group is None:
        raise OSWorldError(
            f"No OSWorld env security group of stack '{stack}' in {aws.region}: run provision.yml first, or fix "
            "osworld_name_prefix / osworld_region (or name the network: osworld_security_group_id and osworld_subnet_id "
            "for envs.yml, osworld_stack for client.yml and evaluate.yml)"
        )
    subnet_id = subnet_id or tag_dict(env_group.get("Tags")).get(SUBNET_KEY)
    if not subnet_id:
        raise OSWorldError(
            f"The env security group {env_group['GroupId']} names no subnet: set osworld_subnet_id, "
            "or run provision.yml first"
        )
    return StackNetwork(
        vpc_id=env_group["VpcId"],
        subnet_id=subnet_id,
        env_security_group_id=env_group["GroupId"],
        host_security_group_id=host_group["GroupId"] if host_group else None,
    )


def admin_iam_arn(caller_arn: str, account: str, resource: str) -> str:
    """The ARN of an administrator-made IAM piece (osworld_manage_iam=false), `resource` being
    `role/<name>` or `instance-profile/<name>`: built from the caller's identity, so that no IAM
    call (which the operator may not be allowed) resolves a name. The partition comes from the
    caller's ARN (aws, aws-cn, aws-us-gov)."""
    partition = caller_arn.split(":")[1]
    return f"arn:{partition}:iam::{account}:{resource}"


def find_scheduler_role_arn(aws: AWS, role_name: str, manage_iam: bool, enable_ttl: bool) -> str:
    """The TTL scheduler role's ARN for the OSWorld `.env`, or "" when there is none to use.

    With manage_iam, only a role the collection made (tagged osworld:managed-by) counts, whether or
    not TTL is on now: 1 iam GetRole. Without it, an administrator's role carries none of the
    collection's tags, so with enable_ttl its ARN is built from the account: 1 sts
    GetCallerIdentity (which needs no permission); otherwise no call at all.
    """
    if manage_iam:
        found = aws.call("iam", "get_role", RoleName=role_name, missing_ok=True)
        role = found["Role"] if found else None
        return str(role["Arn"]) if role and is_managed(tag_dict(role.get("Tags"))) else ""
    if not enable_ttl:
        return ""
    caller = aws.call("sts", "get_caller_identity")
    return admin_iam_arn(caller["Arn"], caller["Account"], f"role/{role_name}")


def _describe_group(aws: AWS, group_id: str) -> dict[str, Any]:
    groups = aws.paginate("ec2", "describe_security_groups", "SecurityGroups[]", GroupIds=[group_id])
    return groups[0]
