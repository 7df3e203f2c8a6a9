# This module util is PRIVATE to the collection. It may change without notice.
"""The image map (the guide's IMAGE_ID_MAP) and the OSWorld AMI in a region.

One place for what the map may hold (a plain AMI id per region, or {screen size: AMI id}), the
AMI of a region, and where else to look for a missing one. The copy into a region the map lacks
is image_copy.py's.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .aws import AWS
from .errors import AWSCallError, OSWorldError
from .stack import PLANNED_ID, is_planned
from .validation import REGION_PATTERN, validate_resource_id, validate_screen_size

# The official OSWorld AMI and the region it lives in: the collection's default map.
OFFICIAL_IMAGE_ID = "ami-0d23263edb96951d8"
IMAGE_HOME_REGION = "us-east-1"
DEFAULT_SCREEN_SIZE = "1920x1080"
DEFAULT_IMAGE_ID_MAP: dict[str, Any] = {IMAGE_HOME_REGION: {DEFAULT_SCREEN_SIZE: OFFICIAL_IMAGE_ID}}

MAX_MAP_REGIONS_SEARCHED = 2
AVAILABLE = "available"


# ---------------------------------------------------------------------------------------------
# The map (pure)


def map_path(region: str, screen_size: str | None = None) -> str:
    """How a user spells one entry of the map: osworld_image_id_map['eu-west-1']['1920x1080']."""
    path = f"osworld_image_id_map['{region}']"
    return f"{path}['{screen_size}']" if screen_size else path


def image_path(image_id_map: Mapping[str, Any], region: str, screen_size: str) -> str:
    return map_path(region, screen_size if isinstance(image_id_map.get(region), Mapping) else None)


def image_entry(value: Any, screen_size: str) -> str | None:
    """The AMI a map entry gives for the screen size (a plain string serves every size)."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get(screen_size), str):
        return str(value[screen_size])
    return None


def image_entry_problem(value: Any, region: str, screen_size: str) -> str | None:
    """Why a map entry gives no usable AMI for the screen size (None: it does)."""
    if isinstance(value, Mapping):
        if screen_size not in value:
            sizes = ", ".join(sorted(str(key) for key in value)) or "none"
            return f"osworld_screen_size: {map_path(region)} has no AMI for screen size {screen_size} (it has: {sizes})"
        path, image_id = map_path(region, screen_size), value[screen_size]
    else:
        path, image_id = map_path(region), value
    if not isinstance(image_id, str):
        return f"{path}: expected an AMI id string, got {type(image_id).__name__}"
    try:
        validate_resource_id(image_id, "ami", path)
    except OSWorldError as exc:
        return exc.message
    return None


def lacks_image(image_id_map: Mapping[str, Any], region: str, screen_size: str) -> bool:
    """True when the map has nothing for the region and screen size: the case a copy fills."""
    entry = image_id_map.get(region)
    return entry is None or (isinstance(entry, Mapping) and screen_size not in entry)


def resolve_image(image_id_map: Mapping[str, Any], region: str, screen_size: str) -> str:
    """The AMI for a region and screen size; OSWorldError naming the entry to fix otherwise."""
    if region not in image_id_map:
        known = ", ".join(sorted(str(key) for key in image_id_map)) or "none"
        raise OSWorldError(
            f"osworld_image_id_map: no AMI for region {region} (the map has: {known}); add {map_path(region)} "
            "or set osworld_image_copy: true"
        )
    problem = image_entry_problem(image_id_map[region], region, screen_size)
    if problem:
        raise OSWorldError(problem)
    return str(image_entry(image_id_map[region], screen_size))


@dataclass
class MapCheck:
    """What the map gives for a region: its AMI, or the AMI a copy would start from; and the problems."""

    image_id: str | None = None
    copy_source_image_id: str | None = None
    errors: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)


def check_map(image_id_map: Any, region: str, screen_size: str, copy_from: str | None = None) -> MapCheck:
    """Every problem of the map for this region (variable, message); other regions' entries only warn.

    With `copy_from` (osworld_image_copy), a region the map lacks is no error as long as the source
    region has an AMI for the screen size.
    """
    result = MapCheck()
    if not isinstance(image_id_map, Mapping) or not image_id_map:
        result.errors.append(("osworld_image_id_map", "osworld_image_id_map: must map regions to an AMI id (or to {screen size: AMI id})"))
        return result
    try:
        validate_screen_size(screen_size, "osworld_screen_size")
    except OSWorldError as exc:
        result.errors.append(("osworld_screen_size", exc.message))
        return result
    for other in sorted(str(key) for key in image_id_map if str(key) != region):
        problem = image_entry_problem(image_id_map[other], other, screen_size)
        if not REGION_PATTERN.match(other):
            result.warnings.append(("osworld_image_id_map", f"{map_path(other)}: '{other}' is not an AWS region name"))
        elif problem and "screen size" not in problem:
            result.warnings.append(("osworld_image_id_map", problem))
    if copy_from and lacks_image(image_id_map, region, screen_size):
        result.copy_source_image_id = _copy_source(result, image_id_map, region, screen_size, copy_from)
        return result
    if region not in image_id_map:
        regions = ", ".join(sorted(str(key) for key in image_id_map))
        result.errors.append(
            (
                "osworld_image_id_map",
                f"osworld_image_id_map: no AMI for region {region} (osworld_region; the map has: {regions}); set "
                f"osworld_image_copy: true to copy the OSWorld AMI there, or add {map_path(region)}",
            )
        )
        return result
    problem = image_entry_problem(image_id_map[region], region, screen_size)
    if problem:
        variable = "osworld_screen_size" if problem.startswith("osworld_screen_size") else "osworld_image_id_map"
        if variable == "osworld_screen_size" and not copy_from:
            problem += "; or set osworld_image_copy: true to copy the OSWorld AMI for it"
        result.errors.append((variable, problem))
        return result
    result.image_id = image_entry(image_id_map[region], screen_size)
    return result


def _copy_source(result: MapCheck, image_id_map: Mapping[str, Any], region: str, screen_size: str, source_region: str) -> str | None:
    if source_region == region:
        result.errors.append(
            ("osworld_image_source_region", f"osworld_image_source_region: {source_region} is osworld_region itself; a copy needs another region's AMI")
        )
        return None
    if source_region not in image_id_map:
        regions = ", ".join(sorted(str(key) for key in image_id_map))
        result.errors.append(
            (
                "osworld_image_source_region",
                f"osworld_image_source_region: osworld_image_id_map has no AMI for {source_region} to copy from (it has: {regions})",
            )
        )
        return None
    problem = image_entry_problem(image_id_map[source_region], source_region, screen_size)
    if problem:
        result.errors.append(("osworld_image_id_map", f"{problem} (the copy's source, osworld_image_source_region)"))
        return None
    return image_entry(image_id_map[source_region], screen_size)


def resolved_map(image_id_map: Mapping[str, Any], region: str, screen_size: str, image_id: str) -> dict[str, Any]:
    """The map with the region's AMI for the screen size set: what fleet and evaluate launch from."""
    resolved = {str(key): (dict(value) if isinstance(value, Mapping) else value) for key, value in image_id_map.items()}
    entry = resolved.get(region)
    if isinstance(entry, dict):
        entry[screen_size] = image_id
    elif entry is None:
        resolved[region] = {screen_size: image_id}
    return resolved


def search_regions(image_id_map: Mapping[str, Any], region: str, screen_size: str) -> list[str]:
    """Where to look for a missing AMI: two other regions of the map, then the official image's home."""
    others = [str(key) for key in sorted(image_id_map) if key != region and REGION_PATTERN.match(str(key))]
    mapped = [key for key in others if image_entry(image_id_map[key], screen_size)][:MAX_MAP_REGIONS_SEARCHED]
    return [key for key in dict.fromkeys([*mapped, IMAGE_HOME_REGION]) if key != region]


def missing_image_message(
    path: str, image_id: str, region: str, candidates: Sequence[Mapping[str, Any]], local_copy: Mapping[str, Any] | None
) -> str:
    message = f"{path}: {image_id} does not exist in {region} or is not shared with this account"
    if local_copy:
        return (
            f"{message}; an image named '{local_copy.get('Name')}' is available there as {local_copy['ImageId']}: "
            f"set {path} to {local_copy['ImageId']}"
        )
    if candidates:
        source = sorted(candidates, key=lambda image: (image["ImageId"] != image_id, image["Region"]))[0]
        name = source.get("Name") or "osworld"
        return (
            f"{message}; {source['ImageId']} ('{name}') is available in {source['Region']}: remove {path} and set "
            f"osworld_image_copy: true with osworld_image_source_region: {source['Region']} (the collection copies it and "
            f"tags the copy), or copy it yourself with `aws ec2 copy-image --source-region {source['Region']} "
            f"--source-image-id {source['ImageId']} --name {name} --region {region}` and set {path} to the new id"
        )
    return f"{message}, nor in the other regions searched; check the id (AMI ids differ per region)"


# ---------------------------------------------------------------------------------------------
# Images in AWS


def describe_images(aws: AWS, image_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Images among image_ids visible in aws.region; a filter, so a missing id is no error."""
    found = aws.call("ec2", "describe_images", Filters=[{"Name": "image-id", "Values": list(image_ids)}])
    return list(found.get("Images", []))


def image_problem(aws: AWS, image_id_map: Mapping[str, Any], screen_size: str, image_id: str) -> tuple[str | None, str | None]:
    """(why the map's AMI cannot launch in aws.region or None, its name) in one call when it is there.

    A missing AMI is looked for in other regions of the map and the official image's home, and
    under its name in this region, so the message can say where to copy it from (or which id to use).
    """
    region = aws.region
    images = describe_images(aws, [image_id])
    path = image_path(image_id_map, region, screen_size)
    if images:
        image = images[0]
        if image.get("State") != AVAILABLE:
            return f"{path}: {image_id} is '{image.get('State')}' in {region}, not available", image.get("Name")
        return None, image.get("Name")
    candidates: list[dict[str, Any]] = []
    for other in search_regions(image_id_map, region, screen_size):
        wanted = sorted({image_id, *([entry] if (entry := image_entry(image_id_map.get(other), screen_size)) else [])})
        found = describe_images(AWS(replace(aws.params, region=other)), wanted)
        candidates.extend({**image, "Region": other} for image in found if image.get("State") == AVAILABLE)
    local_copy = None
    named = sorted({str(image["Name"]) for image in candidates if image.get("Name")})
    if named:
        by_name = [{"Name": "name", "Values": named}, {"Name": "state", "Values": [AVAILABLE]}]
        local = aws.call("ec2", "describe_images", Filters=by_name).get("Images", [])
        local = sorted(local, key=lambda image: str(image.get("CreationDate", "")), reverse=True)
        local_copy = local[0] if local else None
    return missing_image_message(path, image_id, region, candidates, local_copy), None


@dataclass(frozen=True)
class LaunchImage:
    image_id: str
    root_device_name: str


def launch_image(aws: AWS, image_id_map: Mapping[str, Any], screen_size: str) -> LaunchImage:
    """The map's AMI for aws.region, checked available (1 DescribeImages); a planned copy (check mode) is taken as is."""
    if is_planned(image_entry(image_id_map.get(aws.region), screen_size)):
        return LaunchImage(PLANNED_ID, "/dev/sda1")
    image_id = resolve_image(image_id_map, aws.region, screen_size)
    try:
        images = aws.call("ec2", "describe_images", ImageIds=[image_id])["Images"]
    except AWSCallError as exc:
        if not exc.code.startswith("InvalidAMIID"):
            raise
        images = []
    available = [image for image in images if image.get("State") == AVAILABLE]
    if not available:
        raise OSWorldError(
            f"osworld_image_id_map: AMI {image_id} ({aws.region}, {screen_size}) does not exist in {aws.region}, "
            "is not available, or is not shared with this account"
        )
    return LaunchImage(image_id, available[0].get("RootDeviceName") or "/dev/sda1")
