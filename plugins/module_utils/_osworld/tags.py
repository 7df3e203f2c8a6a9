# This module util is PRIVATE to the collection. It may change without notice.
"""The collection's tags: how it marks what it creates and finds it again."""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from .timestamps import format_utc

MANAGED_BY_KEY = "osworld:managed-by"
MANAGED_BY_VALUE = "osworld.aws"
ROLE_KEY = "osworld:role"
# The values of ROLE_KEY: an OSWorld env VM, or the host that runs the evaluations.
ROLE_ENV = "env"
ROLE_HOST = "host"
FLEET_KEY = "osworld:fleet"
# On the VMs of an evaluation run (evaluate.yml): the run id.
RUN_KEY = "osworld:run"
EXPIRES_AT_KEY = "osworld:expires-at"
COMPONENT_KEY = "osworld:component"
STACK_KEY = "osworld:stack"
# On the env security group: the subnet the stack launches VMs into (created or adopted).
SUBNET_KEY = "osworld:subnet"
NAME_KEY = "Name"
RESERVED_PREFIX = "osworld:"


def tag_dict(aws_tags: Iterable[Mapping[str, str]] | None) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in aws_tags or ()}


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": tags[key]} for key in sorted(tags)]


def tag_specifications(resource_types: Sequence[str], tags: Mapping[str, str]) -> list[dict[str, Any]]:
    """Tags applied by the create call itself, so an interrupted run never leaves an untagged resource."""
    return [{"ResourceType": resource_type, "Tags": tag_list(tags)} for resource_type in resource_types]


def filters(**by_name: str | Sequence[str]) -> list[dict[str, Any]]:
    """EC2 Filters from keyword arguments; underscores become dashes (instance_state_name=...)."""
    result = []
    for name, values in sorted(by_name.items()):
        listed = [values] if isinstance(values, str) else list(values)
        result.append({"Name": name.replace("_", "-"), "Values": listed})
    return result


def tag_filters(tags: Mapping[str, str]) -> list[dict[str, Any]]:
    return [{"Name": f"tag:{key}", "Values": [tags[key]]} for key in sorted(tags)]


def is_managed(tags: Mapping[str, str]) -> bool:
    return tags.get(MANAGED_BY_KEY) == MANAGED_BY_VALUE


def merge_extra_tags(own: Mapping[str, str], extra: Mapping[str, Any] | None) -> dict[str, str]:
    """User tags never override the collection's own, which teardown and reaping rely on."""
    merged = {str(key): str(value) for key, value in (extra or {}).items() if not str(key).startswith(RESERVED_PREFIX)}
    merged.update(own)
    return merged


def stack_tags(
    stack: str,
    component: str,
    name: str,
    extra: Mapping[str, Any] | None = None,
    *,
    role: str | None = None,
    expires_at: str | None = None,
) -> dict[str, str]:
    """A created resource's tags; the host role's pieces also carry their `role` (and the host its
    expiry). The osworld.aws.stack_tags filter gives roles the same tags."""
    own = {
        MANAGED_BY_KEY: MANAGED_BY_VALUE,
        STACK_KEY: stack,
        COMPONENT_KEY: component,
        NAME_KEY: name,
    }
    if role:
        own[ROLE_KEY] = role
    if expires_at:
        own[EXPIRES_AT_KEY] = expires_at
    return merge_extra_tags(own, extra)


def stack_identity(stack: str, role: str | None = None) -> dict[str, str]:
    """The tags that find a stack's resources again (of one role, when named)."""
    wanted = {MANAGED_BY_KEY: MANAGED_BY_VALUE, STACK_KEY: stack}
    if role:
        wanted[ROLE_KEY] = role
    return wanted


def is_stack_owned(tags: Mapping[str, str], stack: str) -> bool:
    """Made by the collection for this stack: only such resources are ever deleted."""
    return is_managed(tags) and tags.get(STACK_KEY) == stack


def stack_filter(stack: str, component: str) -> list[dict[str, Any]]:
    return tag_filters({**stack_identity(stack), COMPONENT_KEY: component})


def expiry_after(now: datetime, minutes: int) -> str:
    """The `osworld:expires-at` value of a VM launched at `now` with a TTL of `minutes`."""
    return format_utc(now + timedelta(minutes=minutes))
