"""Tag helpers: what the collection marks and how it reads expiry."""
from __future__ import annotations

from datetime import datetime, timezone

from ansible_collections.osworld.aws.plugins.module_utils._osworld.tags import (
    MANAGED_BY_KEY,
    expiry_after,
    filters,
    is_managed,
    merge_extra_tags,
    stack_tags,
    tag_dict,
    tag_filters,
    tag_list,
    tag_specifications,
)
from ansible_collections.osworld.aws.plugins.module_utils._osworld.timestamps import parse_utc


def test_tag_list_and_dict_round_trip_sorted() -> None:
    tags = {"b": "2", "a": "1"}
    assert tag_list(tags) == [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]
    assert tag_dict(tag_list(tags)) == tags
    assert tag_dict(None) == {}


def test_extra_tags_cannot_override_the_collections_own() -> None:
    merged = merge_extra_tags({MANAGED_BY_KEY: "osworld.aws"}, {MANAGED_BY_KEY: "me", "osworld:fleet": "x", "cost-center": 42})
    assert merged == {MANAGED_BY_KEY: "osworld.aws", "cost-center": "42"}


def test_stack_tags_mark_the_resource_as_managed() -> None:
    tags = stack_tags("lab", "vpc", "lab-vpc", {"team": "eval"})
    assert is_managed(tags)
    assert tags["Name"] == "lab-vpc" and tags["osworld:stack"] == "lab" and tags["team"] == "eval"


def test_tag_specifications_cover_each_resource_type() -> None:
    specs = tag_specifications(["instance", "volume"], {"k": "v"})
    assert [spec["ResourceType"] for spec in specs] == ["instance", "volume"]


def test_filters() -> None:
    assert filters(vpc_id="vpc-1", instance_state_name=["running", "pending"]) == [
        {"Name": "instance-state-name", "Values": ["running", "pending"]},
        {"Name": "vpc-id", "Values": ["vpc-1"]},
    ]
    assert tag_filters({"b": "2", "a": "1"}) == [{"Name": "tag:a", "Values": ["1"]}, {"Name": "tag:b", "Values": ["2"]}]


def test_expiry_round_trip_is_utc_iso() -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=timezone.utc)
    value = expiry_after(now, 90)
    assert value == "2026-01-02T04:34:05Z"
    assert parse_utc(value) == datetime(2026, 1, 2, 4, 34, 5, tzinfo=timezone.utc)


def test_unreadable_expiry_is_none() -> None:
    assert parse_utc("next tuesday") is None
    assert parse_utc("") is None
    assert parse_utc("2026-01-02T03:04:05") == datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
