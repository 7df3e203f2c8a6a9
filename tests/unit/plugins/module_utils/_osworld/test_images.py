"""images.py: the image map (a plain AMI or one per screen size), its errors, and where a missing image is found."""
from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.osworld.aws.plugins.module_utils._osworld.errors import OSWorldError
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

AMI = OFFICIAL_IMAGE_ID
OTHER_AMI = "ami-0a0e5d9c7acc336f1"
COPY = "ami-0123456789abcdef0"


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
