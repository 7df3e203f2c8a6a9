# This module util is PRIVATE to the collection. It may change without notice.
"""The VMs OSWorld's own client launched: the one definition the reaper and the inventory share,
so that what the inventory lists as a client VM is exactly what reap.yml may terminate."""
from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

# Who launched an OSWorld VM, as the reaper's verdicts and the inventory's host variables say it.
LAUNCHED_BY_COLLECTION = "osworld.aws"
LAUNCHED_BY_CLIENT = "osworld-client"


def security_group_ids(instance: Mapping[str, Any]) -> set[str]:
    """The instance's groups and its interfaces' groups: a launch with NetworkInterfaces (the
    client's way) may leave the instance-level list empty, as moto does."""
    ids = {group["GroupId"] for group in instance.get("SecurityGroups") or () if group.get("GroupId")}
    for interface in instance.get("NetworkInterfaces") or ():
        ids.update(group["GroupId"] for group in interface.get("Groups") or () if group.get("GroupId"))
    return ids


def is_untagged(tags: Mapping[str, str]) -> bool:
    """No tag a person or tool chose; the `aws:` tags AWS itself adds do not count."""
    return all(key.startswith("aws:") for key in tags)


def is_client_vm(instance: Mapping[str, Any], tags: Mapping[str, str], env_group_ids: Collection[str]) -> bool:
    """Untagged, and in env security groups only: a VM that merely shares the group with
    others (a host, somebody's debugging box) or that anyone tagged is not the client's."""
    groups = security_group_ids(instance)
    return bool(groups) and is_untagged(tags) and all(group in env_group_ids for group in groups)
