"""The image map and the AMI copy (images.py), and the key pair's local side (keys.py): pure logic,
and the copy's decisions against a scripted AWS (pending waited for, failure reported, tags restored)."""
from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
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
from ansible_collections.osworld.aws.plugins.module_utils._osworld.images import (
    DEFAULT_IMAGE_ID_MAP,
    OFFICIAL_IMAGE_ID,
    check_map,
    image_path,
    lacks_image,
    missing_image_message,
    resolve_image,
    resolved_map,
    search_regions,
)
from ansible_collections.osworld.aws.plugins.module_utils._osworld.keys import (
    KeySpec,
    creation_problem,
    key_file_path,
    write_private_key,
)
from ansible_collections.osworld.aws.plugins.module_utils._osworld.stack import PLANNED_ID

AMI = OFFICIAL_IMAGE_ID
OTHER_AMI = "ami-0a0e5d9c7acc336f1"
COPY = "ami-0123456789abcdef0"


class ScriptedAWS:
    """The AWS methods images.py uses, answering from a script, recording each call."""

    def __init__(self, answer: Callable[[str, dict[str, Any]], Any], region: str = "eu-west-1") -> None:
        self.answer = answer
        self.region = region
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def call(self, service: str, operation: str, *, wait_for_consistency: bool = False, **kwargs: Any) -> Any:
        self.calls.append((operation, kwargs))
        return self.answer(operation, kwargs)

    def paginate(self, service: str, operation: str, result_key: str, **kwargs: Any) -> list[Any]:
        self.calls.append((operation, kwargs))
        answer = self.answer(operation, kwargs)
        return list(answer.get(result_key.split("[")[0], []))

    def operations(self) -> list[str]:
        return [call[0] for call in self.calls]


def image(state: str, image_id: str = COPY, **extra: Any) -> dict[str, Any]:
    return {"ImageId": image_id, "State": state, "CreationDate": "2026-01-01T00:00:00.000Z", **extra}


# --- the map ---------------------------------------------------------------------------------


def test_image_map_accepts_a_plain_ami_or_one_per_screen_size() -> None:
    assert resolve_image({"us-east-1": AMI}, "us-east-1", "1920x1080") == AMI
    assert resolve_image({"us-east-1": {"1920x1080": AMI, "1280x720": OTHER_AMI}}, "us-east-1", "1280x720") == OTHER_AMI
    assert resolve_image(DEFAULT_IMAGE_ID_MAP, "us-east-1", "1920x1080") == AMI


@pytest.mark.parametrize(
    ("image_map", "needle"),
    [
        ({"eu-west-1": AMI}, "osworld_image_id_map: no AMI for region us-east-1 (the map has: eu-west-1)"),
        ({"us-east-1": {"1280x720": AMI}}, "osworld_image_id_map['us-east-1'] has no AMI for screen size 1920x1080 (it has: 1280x720)"),
        ({"us-east-1": "not-an-ami"}, "osworld_image_id_map['us-east-1']: 'not-an-ami' is not a well-formed ami id"),
        ({"us-east-1": ["ami-0d23263edb96951d8"]}, "osworld_image_id_map['us-east-1']: expected an AMI id string, got list"),
    ],
)
def test_image_map_errors_name_the_entry(image_map: dict[str, Any], needle: str) -> None:
    with pytest.raises(OSWorldError) as error:
        resolve_image(image_map, "us-east-1", "1920x1080")
    assert needle in error.value.message


def test_image_path_follows_the_map_shape() -> None:
    assert image_path({"us-east-1": AMI}, "us-east-1", "1920x1080") == "osworld_image_id_map['us-east-1']"
    assert image_path({"us-east-1": {"1920x1080": AMI}}, "us-east-1", "1920x1080") == "osworld_image_id_map['us-east-1']['1920x1080']"


def test_search_regions_prefers_the_map_then_the_official_home() -> None:
    image_map = {"eu-west-1": AMI, "ap-south-1": {"1280x720": AMI}, "us-west-2": AMI, "eu-central-1": AMI}
    assert search_regions(image_map, "eu-west-1", "1920x1080") == ["eu-central-1", "us-west-2", "us-east-1"]
    assert search_regions({"eu-west-1": AMI}, "eu-west-1", "1920x1080") == ["us-east-1"]
    assert search_regions({"us-east-1": AMI}, "us-east-1", "1920x1080") == []


def test_missing_image_suggests_the_collections_copy_then_copy_image() -> None:
    candidates = [{"ImageId": OTHER_AMI, "Name": "osworld-ubuntu", "Region": "eu-west-1"}]
    message = missing_image_message("osworld_image_id_map['us-west-2']", AMI, "us-west-2", candidates, None)
    assert message.startswith("osworld_image_id_map['us-west-2']: ami-0d23263edb96951d8 does not exist in us-west-2")
    assert "osworld_image_copy: true with osworld_image_source_region: eu-west-1" in message
    assert (
        "aws ec2 copy-image --source-region eu-west-1 --source-image-id ami-0a0e5d9c7acc336f1 --name osworld-ubuntu --region us-west-2"
        in message
    )


def test_missing_image_prefers_the_same_id_elsewhere() -> None:
    candidates = [
        {"ImageId": OTHER_AMI, "Name": "a", "Region": "ap-south-1"},
        {"ImageId": AMI, "Name": "b", "Region": "us-east-1"},
    ]
    message = missing_image_message("p", AMI, "eu-west-1", candidates, None)
    assert f"--source-region us-east-1 --source-image-id {AMI}" in message


def test_missing_image_points_at_an_existing_copy() -> None:
    local = {"ImageId": OTHER_AMI, "Name": "osworld-ubuntu"}
    message = missing_image_message("p", AMI, "eu-west-1", [{"ImageId": AMI, "Name": "osworld-ubuntu", "Region": "us-east-1"}], local)
    assert f"set p to {OTHER_AMI}" in message and "copy-image" not in message


def test_missing_image_nowhere() -> None:
    assert "AMI ids differ per region" in missing_image_message("p", AMI, "eu-west-1", [], None)


def test_a_region_missing_from_the_map_names_image_copy_as_the_fix() -> None:
    checked = check_map(DEFAULT_IMAGE_ID_MAP, "eu-west-1", "1920x1080")
    ((variable, message),) = checked.errors
    assert variable == "osworld_image_id_map"
    assert "no AMI for region eu-west-1" in message and "osworld_image_copy: true" in message


def test_with_copy_a_missing_region_takes_the_source_regions_ami() -> None:
    checked = check_map(DEFAULT_IMAGE_ID_MAP, "eu-west-1", "1920x1080", copy_from="us-east-1")
    assert checked.errors == [] and checked.image_id is None
    assert checked.copy_source_image_id == AMI
    # A missing screen size within a region is filled the same way.
    sized = check_map({"us-east-1": {"1920x1080": AMI}, "eu-west-1": {"1280x720": OTHER_AMI}}, "eu-west-1", "1920x1080", copy_from="us-east-1")
    assert sized.copy_source_image_id == AMI


def test_with_copy_a_mapped_region_uses_its_own_ami() -> None:
    checked = check_map({"us-east-1": AMI, "eu-west-1": OTHER_AMI}, "eu-west-1", "1920x1080", copy_from="us-east-1")
    assert checked.image_id == OTHER_AMI and checked.copy_source_image_id is None


@pytest.mark.parametrize(
    ("image_map", "region", "source", "variable"),
    [
        (DEFAULT_IMAGE_ID_MAP, "eu-west-1", "ap-south-1", "osworld_image_source_region"),
        ({"us-east-1": {"1280x720": AMI}}, "us-east-1", "us-east-1", "osworld_image_source_region"),
        ({"us-east-1": {"1280x720": AMI}}, "eu-west-1", "us-east-1", "osworld_screen_size"),
        ({"us-east-1": "ami-12"}, "eu-west-1", "us-east-1", "osworld_image_id_map"),
    ],
)
def test_copy_source_problems_name_the_variable(image_map: dict[str, Any], region: str, source: str, variable: str) -> None:
    checked = check_map(image_map, region, "1920x1080", copy_from=source)
    ((found, message),) = checked.errors
    assert found == variable or message.startswith(variable)
    assert checked.copy_source_image_id is None


def test_lacks_image_and_resolved_map() -> None:
    assert lacks_image(DEFAULT_IMAGE_ID_MAP, "eu-west-1", "1920x1080")
    assert lacks_image({"eu-west-1": {"1280x720": AMI}}, "eu-west-1", "1920x1080")
    assert not lacks_image({"eu-west-1": "ami-12"}, "eu-west-1", "1920x1080")
    resolved = resolved_map(DEFAULT_IMAGE_ID_MAP, "eu-west-1", "1920x1080", COPY)
    assert resolved == {"us-east-1": {"1920x1080": AMI}, "eu-west-1": {"1920x1080": COPY}}
    assert DEFAULT_IMAGE_ID_MAP == {"us-east-1": {"1920x1080": AMI}}, "the default map is never changed"
    assert resolved_map({"eu-west-1": {"1280x720": OTHER_AMI}}, "eu-west-1", "1920x1080", COPY) == {"eu-west-1": {"1280x720": OTHER_AMI, "1920x1080": COPY}}


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

    aws = ScriptedAWS(answer)
    lines: list[str] = []
    spec = ImageSpec(image_id_map=DEFAULT_IMAGE_ID_MAP, copy=True)
    result = ensure_image(aws, spec, check_mode=False, progress=lines.append, sleep=lambda seconds: None)  # type: ignore[arg-type]
    assert result["changed"] is False and result["copied"] is False
    assert result["image_id"] == COPY and result["state"] == "available"
    assert result["image_id_map"]["eu-west-1"] == {"1920x1080": COPY}
    assert "copy_image" not in aws.operations()
    assert len(lines) == 3 and lines[-1].startswith(f"{COPY} available in eu-west-1")


def test_an_available_copy_costs_one_call() -> None:
    aws = ScriptedAWS(lambda operation, kwargs: {"Images": [image("available")]})
    result = ensure_image(aws, ImageSpec(image_id_map=DEFAULT_IMAGE_ID_MAP, copy=True), check_mode=False)  # type: ignore[arg-type]
    assert result["image_id"] == COPY and not result["changed"]
    assert aws.operations() == ["describe_images"]


def test_a_mapped_region_costs_no_call() -> None:
    aws = ScriptedAWS(lambda operation, kwargs: pytest.fail(operation), region="us-east-1")
    result = ensure_image(aws, ImageSpec(image_id_map=DEFAULT_IMAGE_ID_MAP, copy=True), check_mode=False)  # type: ignore[arg-type]
    assert result["image_id"] == AMI and result["image_copy"] is False and result["image_id_map"] == DEFAULT_IMAGE_ID_MAP


def test_check_mode_plans_the_copy_without_making_it() -> None:
    aws = ScriptedAWS(lambda operation, kwargs: {"Images": []})
    result = ensure_image(aws, ImageSpec(image_id_map=DEFAULT_IMAGE_ID_MAP, copy=True), check_mode=True)  # type: ignore[arg-type]
    assert result["changed"] and result["image_id"] == PLANNED_ID
    assert result["image_id_map"]["eu-west-1"] == {"1920x1080": PLANNED_ID}
    assert aws.operations() == ["describe_images"]


def test_a_failed_copy_is_reported_with_awss_reason() -> None:
    failed = image("failed", StateReason={"Code": "Client.InternalError", "Message": "Snapshot copy failed: KMS key disabled"})
    aws = ScriptedAWS(lambda operation, kwargs: {"Images": [failed]})
    with pytest.raises(OSWorldError) as error:
        ensure_image(aws, ImageSpec(image_id_map=DEFAULT_IMAGE_ID_MAP, copy=True), check_mode=False)  # type: ignore[arg-type]
    assert "Snapshot copy failed: KMS key disabled" in error.value.message
    assert "osworld_teardown_images=true" in error.value.message
    states = iter(["pending", "failed"])
    polled = ScriptedAWS(lambda operation, kwargs: {"Images": [{**failed, "State": next(states)}]})
    with pytest.raises(OSWorldError, match="KMS key disabled"):
        wait_for_copy(polled, COPY, 600, sleep=lambda seconds: None)  # type: ignore[arg-type]


def test_the_wait_gives_up_after_its_timeout_and_says_a_rerun_continues() -> None:
    clock = iter(range(0, 10000, 100))
    aws = ScriptedAWS(lambda operation, kwargs: {"Images": [image("pending")]})
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

    aws = ScriptedAWS(answer)
    assert start_copy(aws, source, SPEC) == COPY  # type: ignore[arg-type]
    (copy_call,) = [kwargs for operation, kwargs in aws.calls if operation == "copy_image"]
    assert copy_call["SourceRegion"] == "us-east-1" and copy_call["SourceImageId"] == AMI
    assert {spec["ResourceType"] for spec in copy_call["TagSpecifications"]} == {"image", "snapshot"}
    (tag_call,) = [kwargs for operation, kwargs in aws.calls if operation == "create_tags"]
    assert tag_call["Resources"] == [COPY, "snap-0123456789abcdef0"]
    assert {"Key": "osworld:managed-by", "Value": "osworld.aws"} in tag_call["Tags"]


def test_a_copy_tagged_by_aws_is_not_tagged_again() -> None:
    tagged = image("pending", Tags=[{"Key": "osworld:managed-by", "Value": "osworld.aws"}])
    aws = ScriptedAWS(lambda operation, kwargs: {"Images": [tagged]})
    ensure_tagged(aws, COPY, SPEC.tags())  # type: ignore[arg-type]
    assert aws.operations() == ["describe_images"]


def test_teardown_deregisters_only_the_stacks_copies_and_deletes_their_snapshots() -> None:
    def answer(operation: str, kwargs: dict[str, Any]) -> Any:
        if operation == "describe_images":
            assert kwargs["Owners"] == ["self"]
            assert {"Name": "tag:osworld:stack", "Values": ["osworld"]} in kwargs["Filters"]
            mappings = [{"Ebs": {"SnapshotId": "snap-1"}}, {"Ebs": {"SnapshotId": "snap-2"}}, {"VirtualName": "ephemeral0"}]
            return {"Images": [image("available", BlockDeviceMappings=mappings)]}
        return {}

    aws = ScriptedAWS(answer)
    planned = remove_copies(aws, "osworld", check_mode=True)  # type: ignore[arg-type]
    assert planned["changed"] and aws.operations() == ["describe_images"]
    result = remove_copies(aws, "osworld", check_mode=False)  # type: ignore[arg-type]
    assert result["deregistered"] == [COPY] and result["deleted_snapshots"] == ["snap-1", "snap-2"]
    assert aws.operations()[-3:] == ["deregister_image", "delete_snapshot", "delete_snapshot"]
    nothing = ScriptedAWS(lambda operation, kwargs: {"Images": []})
    assert remove_copies(nothing, "osworld", check_mode=False)["changed"] is False  # type: ignore[arg-type]
    assert nothing.operations() == ["describe_images"]

# --- the key pair's file ---------------------------------------------------------------------


def test_key_file_defaults_to_ssh_dir_by_name_and_region() -> None:
    assert key_file_path(None, "osworld_key", "eu-west-1") == os.path.expanduser("~/.ssh/osworld_key-eu-west-1.pem")
    assert key_file_path("/tmp/k.pem", "x", "eu-west-1") == "/tmp/k.pem"


def test_private_key_is_written_0600_and_never_over_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "new" / "key.pem"
    write_private_key(str(path), "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    with pytest.raises(FileExistsError):
        write_private_key(str(path), "other")
    assert "other" not in path.read_text()


def test_creation_problems_name_the_variable(tmp_path: Path) -> None:
    existing = tmp_path / "taken.pem"
    existing.write_text("someone's key")
    ((variable, message)) = creation_problem(KeySpec(key_file=str(existing)), "eu-west-1")  # type: ignore[misc]
    assert variable == "osworld_key_file" and "never overwritten" in message
    assert creation_problem(KeySpec(key_file=str(tmp_path / "free.pem")), "eu-west-1") is None
    private = tmp_path / "id"
    private.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    assert creation_problem(KeySpec(public_key_file=str(private)), "eu-west-1")[0] == "osworld_key_public_file"  # type: ignore[index]
    assert creation_problem(KeySpec(public_key_file=str(tmp_path / "missing.pub")), "eu-west-1")[0] == "osworld_key_public_file"  # type: ignore[index]
    public = tmp_path / "id.pub"
    public.write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB me@host\n")
    assert creation_problem(KeySpec(public_key_file=str(public), key_file=str(existing)), "eu-west-1") is None
