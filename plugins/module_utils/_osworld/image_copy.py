# This module util is PRIVATE to the collection. It may change without notice.
"""The copy of the OSWorld AMI into a region the map lacks (`osworld_image_copy`).

A copy is tagged at creation with the collection's tag, its stack, its source AMI and its screen
size, and found again by those tags: a re-run copies nothing, a pending copy is waited for,
teardown finds what to deregister.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .aws import AWS
from .errors import OSWorldError
from .images import AVAILABLE, DEFAULT_IMAGE_ID_MAP, DEFAULT_SCREEN_SIZE, IMAGE_HOME_REGION, check_map, describe_images, map_path, resolved_map
from .options import Options, extra_tags_option, option, stack_option
from .stack import PLANNED_ID, is_planned
from .validation import validate_region
from .tags import (
    COMPONENT_KEY,
    is_managed,
    stack_identity,
    stack_tags,
    tag_dict,
    tag_filters,
    tag_list,
    tag_specifications,
)

COMPONENT_IMAGE_COPY = "image-copy"
SOURCE_IMAGE_KEY = "osworld:source-image"
SCREEN_SIZE_KEY = "osworld:screen-size"
PENDING = "pending"
# States an AMI copy never leaves for `available`.
FAILED_STATES = frozenset({"failed", "invalid", "error", "deregistered", "disabled"})
COPY_POLL_INTERVAL = 15.0

Sleep = Callable[[float], None]
Clock = Callable[[], float]
Progress = Callable[[str], None]


@dataclass(frozen=True)
class CopySpec:
    stack: str
    screen_size: str
    source_region: str
    source_image_id: str
    extra_tags: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        # AMI names are unique per account and region: the stack and the source make this one so.
        return f"{self.stack}-osworld-{self.screen_size}-from-{self.source_image_id}"

    def tags(self) -> dict[str, str]:
        source = {SOURCE_IMAGE_KEY: self.source_image_id, SCREEN_SIZE_KEY: self.screen_size}
        return {**stack_tags(self.stack, COMPONENT_IMAGE_COPY, self.name, self.extra_tags), **source}


def copy_filters(stack: str, source_image_id: str | None = None, screen_size: str | None = None) -> list[dict[str, Any]]:
    wanted = {**stack_identity(stack), COMPONENT_KEY: COMPONENT_IMAGE_COPY}
    if source_image_id:
        wanted[SOURCE_IMAGE_KEY] = source_image_id
    if screen_size:
        wanted[SCREEN_SIZE_KEY] = screen_size
    return tag_filters(wanted)


def find_copies(aws: AWS, stack: str, source_image_id: str | None = None, screen_size: str | None = None) -> list[dict[str, Any]]:
    """The stack's copies in aws.region (of one source and size when given): 1 DescribeImages."""
    images = aws.paginate("ec2", "describe_images", "Images[]", Owners=["self"], Filters=copy_filters(stack, source_image_id, screen_size))
    return sorted(images, key=lambda image: str(image["ImageId"]))


def find_copy_snapshots(aws: AWS, stack: str) -> list[dict[str, Any]]:
    """The snapshots CopyImage tagged as the stack's copies' in aws.region: 1 DescribeSnapshots."""
    return aws.paginate("ec2", "describe_snapshots", "Snapshots[]", OwnerIds=["self"], Filters=copy_filters(stack))


def pick_copy(images: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The copy to use: an available one, else a pending one (waited for, never duplicated), else a failed one."""
    for states in ({AVAILABLE}, {PENDING}, FAILED_STATES):
        matching = sorted((image for image in images if image.get("State") in states), key=lambda image: str(image.get("CreationDate", "")))
        if matching:
            return matching[-1]
    return None


def failure_message(image: Mapping[str, Any], region: str) -> str:
    reason = image.get("StateReason") or {}
    said = ": ".join(str(part) for part in (reason.get("Code"), reason.get("Message")) if part) or "AWS gave no reason"
    return (
        f"The OSWorld AMI copy {image['ImageId']} in {region} is '{image.get('State')}' ({said}). "
        "Run teardown.yml -e osworld_teardown_images=true to deregister it, then run again to copy anew"
    )


def existing_copy(aws: AWS, spec: CopySpec) -> Mapping[str, Any] | None:
    """The stack's copy of this source and size in aws.region (1 DescribeImages); a failed one raises with AWS's reason."""
    found = pick_copy(find_copies(aws, spec.stack, spec.source_image_id, spec.screen_size))
    if found and found.get("State") in FAILED_STATES:
        raise OSWorldError(failure_message(found, aws.region), image_id=found["ImageId"], state=found.get("State"))
    return found


def source_problem(source_aws: AWS, spec: CopySpec) -> tuple[Mapping[str, Any] | None, str | None]:
    """(the source image, why it cannot be copied or None): 1 DescribeImages in the source region."""
    source = describe_images(source_aws, [spec.source_image_id])
    if source and source[0].get("State") == AVAILABLE:
        return source[0], None
    state = f"is '{source[0].get('State')}'" if source else "does not exist or is not shared with this account"
    return None, f"{map_path(spec.source_region)}: {spec.source_image_id} {state} in {spec.source_region} (osworld_image_source_region), so it cannot be copied"


def check_copy(aws: AWS, source_aws: AWS, spec: CopySpec) -> tuple[str | None, dict[str, Any]]:
    """Preflight for osworld_image_copy: (error or None, facts). An existing copy is enough; else the source must be available."""
    try:
        found = existing_copy(aws, spec)
    except OSWorldError as exc:
        return exc.message, {}
    if found:
        return None, {"image_id": found["ImageId"], "image_name": found.get("Name"), "image_copy_state": found.get("State")}
    source, problem = source_problem(source_aws, spec)
    return problem, {} if source is None else {"image_copy_needed": True, "image_name": source.get("Name")}


def start_copy(aws: AWS, source_aws: AWS, spec: CopySpec) -> str:
    """CopyImage tagged at creation; returns the new id. Makes sure the copy carries its tags."""
    _source, problem = source_problem(source_aws, spec)
    if problem:
        raise OSWorldError(problem)
    tags = spec.tags()
    image_id = str(
        aws.call(
            "ec2",
            "copy_image",
            Name=spec.name,
            Description=f"OSWorld AMI {spec.source_image_id} ({spec.screen_size}) copied from {spec.source_region} by osworld.aws",
            SourceImageId=spec.source_image_id,
            SourceRegion=spec.source_region,
            TagSpecifications=tag_specifications(["image", "snapshot"], tags),
        )["ImageId"]
    )
    ensure_tagged(aws, image_id, tags)
    return image_id


def ensure_tagged(aws: AWS, image_id: str, tags: Mapping[str, str]) -> None:
    """Tags the copy and its snapshots when CopyImage ignored TagSpecifications (some emulators do):
    teardown and the re-run find a copy only by its tags. 1 DescribeImages; 1 CreateTags when untagged."""
    images = aws.call("ec2", "describe_images", ImageIds=[image_id])["Images"]
    if not images or is_managed(tag_dict(images[0].get("Tags"))):
        return
    aws.call("ec2", "create_tags", Resources=[image_id, *snapshot_ids(images[0])], Tags=tag_list(tags))


def deleted_with_image(deregistered: Mapping[str, Any]) -> set[str]:
    """The snapshots a DeregisterImage with DeleteAssociatedSnapshots says it deleted."""
    return {str(result["SnapshotId"]) for result in deregistered.get("DeleteSnapshotResults", []) if result.get("ReturnCode") == "success"}


def snapshot_ids(image: Mapping[str, Any]) -> list[str]:
    return sorted({str(mapping["Ebs"]["SnapshotId"]) for mapping in image.get("BlockDeviceMappings", []) if mapping.get("Ebs", {}).get("SnapshotId")})


def copy_state(aws: AWS, image_id: str) -> dict[str, Any]:
    """The copy as AWS describes it now; OSWorldError with AWS's reason when it failed."""
    images = aws.call("ec2", "describe_images", ImageIds=[image_id])["Images"]
    if not images:
        raise OSWorldError(f"The OSWorld AMI copy {image_id} disappeared from {aws.region} while being waited for")
    image = dict(images[0])
    if image.get("State") in FAILED_STATES:
        raise OSWorldError(failure_message(image, aws.region), image_id=image_id, state=image.get("State"))
    return image


def wait_for_copy(
    aws: AWS,
    image_id: str,
    timeout: float,
    progress: Progress = lambda line: None,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
    interval: float = COPY_POLL_INTERVAL,
) -> dict[str, Any]:
    """1 DescribeImages per poll until the copy is available; a line per poll goes to `progress`."""
    started = clock()
    deadline = started + timeout
    while True:
        image = copy_state(aws, image_id)
        elapsed = int(clock() - started)
        if image.get("State") == AVAILABLE:
            progress(f"{image_id} available in {aws.region} after {elapsed} s")
            return image
        progress(f"{image_id} is {image.get('State')} in {aws.region} ({elapsed} s)")
        remaining = deadline - clock()
        if remaining <= 0:
            raise OSWorldError(
                f"The OSWorld AMI copy {image_id} is still {image.get('State')} after {int(timeout)} s; "
                "run again to keep waiting (it is not copied twice)"
            )
        sleep(min(interval, remaining))


# ---------------------------------------------------------------------------------------------
# The module's runs


@dataclass(frozen=True)
class ImageSpec(Options):
    """The options of osworld.aws.image."""

    image_id_map: Mapping[str, Any] = option("dict", DEFAULT_IMAGE_ID_MAP)
    screen_size: str = option("str", DEFAULT_SCREEN_SIZE)
    copy: bool = option("bool", False)
    source_region: str = option("str", IMAGE_HOME_REGION, checks=[validate_region])
    stack: str = stack_option()
    extra_tags: Mapping[str, Any] = extra_tags_option()
    state: str = option("str", "present", choices=("present", "absent"))
    wait: bool = option("bool", True)
    wait_timeout: int = option("int", 3600)


def ensure_image(aws: AWS, spec: ImageSpec, check_mode: bool, progress: Progress = lambda line: None, sleep: Sleep = time.sleep) -> dict[str, Any]:
    """The region's AMI and the resolved map. No AWS call when the map has the region's AMI;
    with a copy: 1 DescribeImages when it exists, else the source's DescribeImages, CopyImage,
    the tag check, then 1 DescribeImages per poll with `wait`."""
    checked = check_map(spec.image_id_map, aws.region, spec.screen_size, spec.source_region if spec.copy else None)
    if checked.errors:
        raise OSWorldError("; ".join(message for _variable, message in checked.errors))
    result: dict[str, Any] = {"changed": False, "region": aws.region, "screen_size": spec.screen_size, "image_copy": False, "copied": False}
    if checked.image_id:
        mapped = resolved_map(spec.image_id_map, aws.region, spec.screen_size, checked.image_id)
        return {**result, "image_id": checked.image_id, "state": None, "image_id_map": mapped}
    copy = CopySpec(spec.stack, spec.screen_size, spec.source_region, str(checked.copy_source_image_id), spec.extra_tags)
    result.update(image_copy=True, source_region=copy.source_region, source_image_id=copy.source_image_id, name=copy.name)
    found = existing_copy(aws, copy)
    if found:
        image_id, state = str(found["ImageId"]), str(found.get("State"))
    elif check_mode:
        image_id, state = PLANNED_ID, PENDING
        result.update(changed=True, copied=True)
    else:
        image_id, state = start_copy(aws, AWS(replace(aws.params, region=copy.source_region)), copy), PENDING
        result.update(changed=True, copied=True)
        progress(f"copying {copy.source_image_id} from {copy.source_region} into {aws.region} as {image_id}")
    if spec.wait and state != AVAILABLE and not is_planned(image_id):
        state = str(wait_for_copy(aws, image_id, spec.wait_timeout, progress, sleep).get("State"))
    result.update(image_id=image_id, state=state, image_id_map=resolved_map(spec.image_id_map, aws.region, spec.screen_size, image_id))
    result["diff"] = {"before": {"image_id": None if result["copied"] else image_id}, "after": {"image_id": image_id}}
    return result


def remove_copies(aws: AWS, stack: str, check_mode: bool) -> dict[str, Any]:
    """Deregisters the stack's copies in aws.region and deletes their snapshots (those of the copies'
    block device mappings, and those tagged as the stack's copies' that no image names any more);
    never another image. 1 DescribeImages and 1 DescribeSnapshots when there is nothing to remove."""
    images = find_copies(aws, stack)
    named = {snapshot for image in images for snapshot in snapshot_ids(image)}
    # A run killed between DeregisterImage and DeleteSnapshot, on an endpoint that ignores
    # DeleteAssociatedSnapshots, leaves the snapshot tagged and named by no image: it is found here.
    orphans = {str(snapshot["SnapshotId"]) for snapshot in find_copy_snapshots(aws, stack)} - named
    snapshots = sorted(named | orphans)
    image_ids = [str(image["ImageId"]) for image in images]
    for image in [] if check_mode else images:
        # AWS deletes the copy's snapshots in the deregistering call itself, so that a run killed
        # here leaves no snapshot that no image names any more. Those it did not delete (an emulator
        # that ignores the flag, a refusal) are deleted one by one, where a refusal is reported.
        answer = aws.call("ec2", "deregister_image", ImageId=image["ImageId"], DeleteAssociatedSnapshots=True) or {}
        for snapshot_id in sorted(set(snapshot_ids(image)) - deleted_with_image(answer)):
            aws.call("ec2", "delete_snapshot", SnapshotId=snapshot_id, missing_ok=True)
    for snapshot_id in [] if check_mode else sorted(orphans):
        aws.call("ec2", "delete_snapshot", SnapshotId=snapshot_id, missing_ok=True)
    return {
        "changed": bool(image_ids or snapshots),
        "deregistered": image_ids,
        "deleted_snapshots": snapshots,
        "diff": {"before": {"images": image_ids, "snapshots": snapshots}, "after": {"images": [], "snapshots": []}},
    }
