"""The tag filters the roles use: the same tags, filters and ownership rule as the modules (tags.py)."""
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.osworld.aws.plugins.filter import tags as tag_filters
from ansible_collections.osworld.aws.plugins.module_utils._osworld import tags


def test_stack_tags_put_the_collections_own_over_the_users() -> None:
    extra = {"cost-center": 42, "osworld:stack": "mine", "osworld:managed-by": "me", "Name": "user-name"}
    assert tag_filters.stack_tags(extra, "osworld", "host-role", "osworld-host-us-east-1", role="host") == {
        "osworld:managed-by": "osworld.aws",
        "osworld:stack": "osworld",
        "osworld:component": "host-role",
        "osworld:role": "host",
        "Name": "osworld-host-us-east-1",
        "cost-center": "42",
    }


def test_stack_tags_are_the_modules_tags_when_no_role_is_given() -> None:
    assert tag_filters.stack_tags({"team": "a"}, "s", "vpc", "s-vpc") == tags.stack_tags("s", "vpc", "s-vpc", {"team": "a"})


@pytest.mark.parametrize(("expires_at", "expected"), [("", None), (None, None), ("2026-01-31T12:00:00Z", "2026-01-31T12:00:00Z")])
def test_an_empty_expiry_sets_no_tag(expires_at: str | None, expected: str | None) -> None:
    result = tag_filters.stack_tags(None, "s", "host", "s-host", role="host", expires_at=expires_at)
    assert result.get(tags.EXPIRES_AT_KEY) == expected


def test_stack_filters_find_what_stack_tags_marks() -> None:
    assert tag_filters.stack_filters("s", role="host") == {"tag:osworld:managed-by": "osworld.aws", "tag:osworld:stack": "s", "tag:osworld:role": "host"}
    assert tag_filters.stack_filters("s") == {"tag:osworld:managed-by": "osworld.aws", "tag:osworld:stack": "s"}
    created = tag_filters.stack_tags({}, "s", "host", "s-host", role="host")
    assert all(created[key.removeprefix("tag:")] == value for key, value in tag_filters.stack_filters("s", role="host").items())


def test_stack_owned_keeps_only_the_stacks_resources_of_the_collection() -> None:
    ours = {"role_name": "a", "tags": {"osworld:managed-by": "osworld.aws", "osworld:stack": "s"}}
    other_stack = {"role_name": "b", "tags": {"osworld:managed-by": "osworld.aws", "osworld:stack": "t"}}
    foreign = {"role_name": "c", "tags": {"osworld:stack": "s"}}
    untagged = {"role_name": "d"}
    assert tag_filters.stack_owned([ours, other_stack, foreign, untagged], "s") == [ours]
    with pytest.raises(AnsibleFilterError):
        tag_filters.stack_owned(["not-a-resource"], "s")


def test_expires_at_is_the_first_expiry_found() -> None:
    assert tag_filters.expires_at([]) == ""
    assert tag_filters.expires_at([{"tags": {}}, {"tags": {"osworld:expires-at": "2026-01-31T12:00:00Z"}}]) == "2026-01-31T12:00:00Z"
