"""image_copy.py: the AMI copy's decisions against a scripted AWS (pending waited for, failure reported, tags restored, teardown)."""
from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.osworld.aws.plugins.module_utils._osworld.errors import OSWorldError
from ansible_collections.osworld.aws.plugins.module_utils._osworld.image_copy import (
    CopySpec,
    ImageSpec,
    copy_filters,
    ensure_image,
    ensure_tagged,
    pick_copy,
    remove_copies,
    start_copy,
    wait_for_copy,
)
from ansible_collections.osworld.aws.plugins.module_utils._osworld.images import DEFAULT_IMAGE_ID_MAP, OFFICIAL_IMAGE_ID
from ansible_collections.osworld.aws.plugins.module_utils._osworld.stack import PLANNED_ID
from tests.support.scripted_aws import ScriptedAWS

AMI = OFFICIAL_IMAGE_ID
COPY = "ami-0123456789abcdef0"


def image(state: str, image_id: str = COPY, **extra: Any) -> dict[str, Any]:
    return {"ImageId": image_id, "State": state, "CreationDate": "2026-01-01T00:00:00.000Z", **extra}


# --- the copy --------------------------------------------------------------------------------


SPEC = CopySpec("osworld", "1920x1080", "us-east-1", AMI, {"team": "eval", "osworld:stack": "ignored"})


def test_copy_tags_carry_source_size_and_stack_and_user_tags_never_override() -> None:
    tags = SPEC.tags()
    assert tags["osworld:managed-by"] == "osworld.aws"
    assert tags["osworld:stack"] == "osworld"
    assert tags["osworld:source-image"] == AMI
    assert tags["osworld:screen-size"] == "1920x1080"
    assert tags["osworld:component"] == "image-copy"
    assert tags["team"] == "eval"
    names = {entry["Name"] for entry in copy_filters("osworld", AMI, "1920x1080")}
    assert names == {"tag:osworld:managed-by", "tag:osworld:stack", "tag:osworld:component", "tag:osworld:source-image", "tag:osworld:screen-size"}


def test_pick_copy_prefers_available_then_pending_then_failed() -> None:
    assert pick_copy([image("failed", "ami-1"), image("pending", "ami-2"), image("available", "ami-3")])["ImageId"] == "ami-3"  # type: ignore[index]
    assert pick_copy([image("failed", "ami-1"), image("pending", "ami-2")])["ImageId"] == "ami-2"  # type: ignore[index]
    assert pick_copy([]) is None


def test_a_pending_copy_is_waited_for_not_duplicated() -> None:
    states = iter(["pending", "pending", "available"])

    def answer(operation: str, kwargs: dict[str, Any]) -> Any:
        if operation == "describe_images" and "Owners" in kwargs:
            return {"Images": [image("pending")]}
        if operation == "describe_images":
            return {"Images": [image(next(states))]}
        raise AssertionError(operation)

    aws = ScriptedAWS(answer, region="eu-west-1")
    lines: list[str] = []
    spec = ImageSpec(image_id_map=DEFAULT_IMAGE_ID_MAP, copy=True)
    result = ensure_image(aws, spec, check_mode=False, progress=lines.append, sleep=lambda seconds: None)  # type: ignore[arg-type]
    assert result["changed"] is False and result["copied"] is False
    assert result["image_id"] == COPY and result["state"] == "available"
    assert result["image_id_map"]["eu-west-1"] == {"1920x1080": COPY}
    assert "copy_image" not in aws.operations()
    assert len(lines) == 3 and lines[-1].startswith(f"{COPY} available in eu-west-1")


def test_an_available_copy_costs_one_call() -> None:
    aws = ScriptedAWS(lambda operation, kwargs: {"Images": [image("available")]}, region="eu-west-1")
    result = ensure_image(aws, ImageSpec(image_id_map=DEFAULT_IMAGE_ID_MAP, copy=True), check_mode=False)  # type: ignore[arg-type]
    assert result["image_id"] == COPY and not result["changed"]
    assert aws.operations() == ["describe_images"]


def test_a_mapped_region_costs_no_call() -> None:
    aws = ScriptedAWS(lambda operation, kwargs: pytest.fail(operation), region="us-east-1")
    result = ensure_image(aws, ImageSpec(image_id_map=DEFAULT_IMAGE_ID_MAP, copy=True), check_mode=False)  # type: ignore[arg-type]
    assert result["image_id"] == AMI and result["image_copy"] is False and result["image_id_map"] == DEFAULT_IMAGE_ID_MAP


def test_check_mode_plans_the_copy_without_making_it() -> None:
    aws = ScriptedAWS(lambda operation, kwargs: {"Images": []}, region="eu-west-1")
    result = ensure_image(aws, ImageSpec(image_id_map=DEFAULT_IMAGE_ID_MAP, copy=True), check_mode=True)  # type: ignore[arg-type]
    assert result["changed"] and result["image_id"] == PLANNED_ID
    assert result["image_id_map"]["eu-west-1"] == {"1920x1080": PLANNED_ID}
    assert aws.operations() == ["describe_images"]


def test_a_failed_copy_is_reported_with_awss_reason() -> None:
    failed = image("failed", StateReason={"Code": "Client.InternalError", "Message": "Snapshot copy failed: KMS key disabled"})
    aws = ScriptedAWS(lambda operation, kwargs: {"Images": [failed]}, region="eu-west-1")
    with pytest.raises(OSWorldError) as error:
        ensure_image(aws, ImageSpec(image_id_map=DEFAULT_IMAGE_ID_MAP, copy=True), check_mode=False)  # type: ignore[arg-type]
    assert "Snapshot copy failed: KMS key disabled" in error.value.message
    assert "osworld_teardown_images=true" in error.value.message
    states = iter(["pending", "failed"])
    polled = ScriptedAWS(lambda operation, kwargs: {"Images": [{**failed, "State": next(states)}]}, region="eu-west-1")
    with pytest.raises(OSWorldError, match="KMS key disabled"):
        wait_for_copy(polled, COPY, 600, sleep=lambda seconds: None)  # type: ignore[arg-type]


def test_the_wait_gives_up_after_its_timeout_and_says_a_rerun_continues() -> None:
    clock = iter(range(0, 10000, 100))
    aws = ScriptedAWS(lambda operation, kwargs: {"Images": [image("pending")]}, region="eu-west-1")
    with pytest.raises(OSWorldError, match="run again to keep waiting"):
        wait_for_copy(aws, COPY, 250, sleep=lambda seconds: None, clock=lambda: float(next(clock)))  # type: ignore[arg-type]


def test_the_copy_is_tagged_at_creation_and_again_when_it_came_back_untagged() -> None:
    source = ScriptedAWS(lambda operation, kwargs: {"Images": [image("available", AMI, Name="osworld-ubuntu")]}, region="us-east-1")

    def answer(operation: str, kwargs: dict[str, Any]) -> Any:
        if operation == "copy_image":
            return {"ImageId": COPY}
        if operation == "describe_images":
            snapshot = {"DeviceName": "/dev/sda1", "Ebs": {"SnapshotId": "snap-0123456789abcdef0"}}
            return {"Images": [image("pending", BlockDeviceMappings=[snapshot])]}
        return {}

    aws = ScriptedAWS(answer, region="eu-west-1")
    assert start_copy(aws, source, SPEC) == COPY  # type: ignore[arg-type]
    (copy_call,) = [kwargs for operation, kwargs in aws.calls if operation == "copy_image"]
    assert copy_call["SourceRegion"] == "us-east-1" and copy_call["SourceImageId"] == AMI
    assert {spec["ResourceType"] for spec in copy_call["TagSpecifications"]} == {"image", "snapshot"}
    (tag_call,) = [kwargs for operation, kwargs in aws.calls if operation == "create_tags"]
    assert tag_call["Resources"] == [COPY, "snap-0123456789abcdef0"]
    assert {"Key": "osworld:managed-by", "Value": "osworld.aws"} in tag_call["Tags"]


def test_a_copy_tagged_by_aws_is_not_tagged_again() -> None:
    tagged = image("pending", Tags=[{"Key": "osworld:managed-by", "Value": "osworld.aws"}])
    aws = ScriptedAWS(lambda operation, kwargs: {"Images": [tagged]}, region="eu-west-1")
    ensure_tagged(aws, COPY, SPEC.tags())  # type: ignore[arg-type]
    assert aws.operations() == ["describe_images"]


def test_teardown_deregisters_only_the_stacks_copies_and_deletes_their_snapshots_and_orphans() -> None:
    def answer(operation: str, kwargs: dict[str, Any]) -> Any:
        if operation in ("describe_images", "describe_snapshots"):
            assert kwargs.get("Owners", kwargs.get("OwnerIds")) == ["self"]
            assert {"Name": "tag:osworld:stack", "Values": ["osworld"]} in kwargs["Filters"]
            assert {"Name": "tag:osworld:component", "Values": ["image-copy"]} in kwargs["Filters"]
        if operation == "describe_images":
            mappings = [{"Ebs": {"SnapshotId": "snap-1"}}, {"Ebs": {"SnapshotId": "snap-2"}}, {"VirtualName": "ephemeral0"}]
            return {"Images": [image("available", BlockDeviceMappings=mappings)]}
        if operation == "describe_snapshots":
            # snap-9: a killed teardown deregistered its image and never deleted it.
            return {"Snapshots": [{"SnapshotId": "snap-1"}, {"SnapshotId": "snap-9"}]}
        return {}

    aws = ScriptedAWS(answer, region="eu-west-1")
    planned = remove_copies(aws, "osworld", check_mode=True)  # type: ignore[arg-type]
    assert planned["changed"] and aws.operations() == ["describe_images", "describe_snapshots"]
    result = remove_copies(aws, "osworld", check_mode=False)  # type: ignore[arg-type]
    assert result["deregistered"] == [COPY] and result["deleted_snapshots"] == ["snap-1", "snap-2", "snap-9"]
    deletes = [(operation, kwargs.get("SnapshotId")) for operation, kwargs in aws.calls[-4:]]
    assert deletes == [("deregister_image", None), ("delete_snapshot", "snap-1"), ("delete_snapshot", "snap-2"), ("delete_snapshot", "snap-9")]
    nothing = ScriptedAWS(lambda operation, kwargs: {}, region="eu-west-1")
    assert remove_copies(nothing, "osworld", check_mode=False)["changed"] is False  # type: ignore[arg-type]
    assert nothing.operations() == ["describe_images", "describe_snapshots"]


def test_snapshots_aws_deleted_with_the_image_are_not_deleted_again() -> None:
    """DeregisterImage deletes the copy's snapshots itself (no window in which a killed run leaves an
    unnamed snapshot); only one it did not delete is deleted by its own call."""
    mappings = [{"Ebs": {"SnapshotId": "snap-1"}}, {"Ebs": {"SnapshotId": "snap-2"}}]

    def answer(operation: str, kwargs: dict[str, Any]) -> Any:
        if operation == "describe_images":
            return {"Images": [image("available", BlockDeviceMappings=mappings)]}
        if operation == "deregister_image":
            assert kwargs["DeleteAssociatedSnapshots"] is True
            return {"Return": True, "DeleteSnapshotResults": [
                {"SnapshotId": "snap-1", "ReturnCode": "success"}, {"SnapshotId": "snap-2", "ReturnCode": "missing-permissions"},
            ]}
        return {}

    aws = ScriptedAWS(answer, region="eu-west-1")
    result = remove_copies(aws, "osworld", check_mode=False)  # type: ignore[arg-type]
    assert result["deleted_snapshots"] == ["snap-1", "snap-2"]
    assert [(operation, kwargs.get("SnapshotId")) for operation, kwargs in aws.calls[2:]] == [("deregister_image", None), ("delete_snapshot", "snap-2")]
