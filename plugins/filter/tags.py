# Copyright: osworld.aws contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's tags for roles: the keys and the merge rule live in module_utils/_osworld/tags.py
only. Each filter is documented in its .yml file beside this one."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.osworld.aws.plugins.module_utils._osworld import tags


def _tags_of(resource: Any) -> Mapping[str, str]:
    """amazon.aws info modules return a resource's tags as a dict under `tags`."""
    if not isinstance(resource, Mapping):
        raise AnsibleFilterError(f"expected resources with a `tags` dict (as amazon.aws info modules return them), got {type(resource).__name__}")
    return resource.get("tags") or {}


def stack_tags(
    extra: Mapping[str, Any] | None, stack: str, component: str, name: str, role: str | None = None, expires_at: str | None = None
) -> dict[str, str]:
    return tags.stack_tags(stack, component, name, extra, role=role or None, expires_at=expires_at or None)


def stack_filters(stack: str, role: str | None = None) -> dict[str, str]:
    return {f"tag:{key}": value for key, value in tags.stack_identity(stack, role or None).items()}


def stack_owned(resources: list[Any], stack: str) -> list[Any]:
    return [resource for resource in resources or () if tags.is_stack_owned(_tags_of(resource), stack)]


def expires_at(resources: list[Any]) -> str:
    found = (_tags_of(resource).get(tags.EXPIRES_AT_KEY) for resource in resources or ())
    return next((value for value in found if value), "")


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"stack_tags": stack_tags, "stack_filters": stack_filters, "stack_owned": stack_owned, "expires_at": expires_at}
