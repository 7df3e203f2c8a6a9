# This module util is PRIVATE to the collection. It may change without notice.
"""The shipped IAM policies (policies/*.json) made for the regions a user runs in."""
from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from .defaults import DEFAULT_NAME_PREFIX
from .errors import OSWorldError
from .validation import validate_region

REGION_KEY = "aws:RequestedRegion"
DEFAULT_STACK_ROLES = f"arn:aws:iam::*:role/{DEFAULT_NAME_PREFIX}-"


def requested_regions(regions: str | Sequence[str], variable: str) -> list[str]:
    """The regions, checked and de-duplicated in the order given; one report names every bad one."""
    names = [regions] if isinstance(regions, str) else list(regions)
    if not names:
        raise OSWorldError(f"{variable}: give at least one region (e.g. eu-west-1)")
    problems = []
    for name in names:
        try:
            validate_region(name, variable)
        except OSWorldError as exc:
            problems.append(exc.message)
    if problems:
        raise OSWorldError("; ".join(problems))
    return list(dict.fromkeys(names))


def for_regions(document: dict[str, Any], regions: str | Sequence[str], variable: str = "osworld_policy_regions") -> dict[str, Any]:
    """The document with every aws:RequestedRegion condition allowing exactly these regions.

    The shipped files pin us-east-1 (the official OSWorld AMI's region). Statements without the
    condition, and documents without any (host.json, the TTL scheduler's), come back unchanged.
    """
    names = requested_regions(regions, variable)
    if not isinstance(document, dict) or not isinstance(document.get("Statement"), list):
        raise OSWorldError("not an IAM policy document (a dict with a Statement list)")
    made = copy.deepcopy(document)
    for statement in made["Statement"]:
        for operator in statement.get("Condition", {}).values():
            if REGION_KEY in operator:
                operator[REGION_KEY] = names[0] if len(names) == 1 else names
    return made


def for_stack(document: Mapping[str, Any], stack: str) -> dict[str, Any]:
    """The document with the IAM role ARNs of the default stack (role/osworld-...) naming this
    stack's roles instead: host.json lets the host pass role/osworld-ttl-scheduler-*, and a stack
    of another name has its own scheduler role."""
    made = copy.deepcopy(dict(document))
    for statement in made.get("Statement", []):
        resources = statement.get("Resource")
        if isinstance(resources, str):
            statement["Resource"] = _renamed(resources, stack)
        elif isinstance(resources, list):
            statement["Resource"] = [_renamed(resource, stack) for resource in resources]
    return made


def _renamed(resource: Any, stack: str) -> Any:
    if isinstance(resource, str) and resource.startswith(DEFAULT_STACK_ROLES):
        return f"arn:aws:iam::*:role/{stack}-" + resource[len(DEFAULT_STACK_ROLES):]
    return resource
