#!/usr/bin/python
# Copyright: osworld.aws contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: image
short_description: The OSWorld AMI of a region, copied there when the image map lacks it
version_added: 0.1.0
description:
  - Returns the AMI of O(image_id_map) for the region and O(screen_size), and the map with that AMI
    in it (RV(image_id_map)), which is what M(osworld.aws.fleet) and the OSWorld runner launch from.
    When the map has the region's AMI, no AWS call is made.
  - With O(copy=true) and no AMI for the region and screen size in the map, the AMI of
    O(source_region) is copied into the region with CopyImage, tagged at creation with
    C(osworld:managed-by=osworld.aws), C(osworld:stack), C(osworld:component=image-copy),
    C(osworld:source-image) and C(osworld:screen-size) (the image and its snapshots).
    When the copy comes back without its tags (emulators ignore C(TagSpecifications) on CopyImage)
    it is tagged again with CreateTags.
  - A copy is found again by those tags, so a re-run copies nothing, and a pending copy (an
    interrupted run) is waited for, not duplicated. A failed copy fails the task with AWS's reason.
  - O(state=absent) deregisters every copy the stack made in the region and deletes their
    snapshots; it never touches an AMI the collection did not copy.
author: OSWorld AWS maintainers (@osworld-aws)
extends_documentation_fragment:
  - osworld.aws.connection
  - osworld.aws.connection.modules
  - osworld.aws.stack
  - osworld.aws.stack.tags
  - osworld.aws.attributes
  - osworld.aws.attributes.ALL
options:
  image_id_map:
    description: The guide's IMAGE_ID_MAP (C(osworld_image_id_map)); region to an AMI id, or to a mapping of screen size to AMI id.
    type: dict
    default: {us-east-1: {"1920x1080": ami-0d23263edb96951d8}}
  screen_size:
    description: Picks the AMI within a region's mapping (C(osworld_screen_size)); a copy is made per screen size.
    type: str
    default: "1920x1080"
  copy:
    description: Copy the source region's AMI when the map has none for the region and screen size (C(osworld_image_copy)).
    type: bool
    default: false
  source_region:
    description: The region whose AMI in O(image_id_map) is copied (C(osworld_image_source_region)).
    type: str
    default: us-east-1
  state:
    description: C(present) finds or makes the copy; C(absent) deregisters the stack's copies and deletes their snapshots.
    type: str
    choices: [present, absent]
    default: present
  wait:
    description:
      - Wait until the copy is available (1 DescribeImages per poll). A copy of the 30 GB OSWorld image takes minutes.
      - The C(osworld.aws.image) role passes V(false) and polls with one task retry per poll, so each poll prints a line.
    type: bool
    default: true
  wait_timeout:
    description: Longest wait for O(wait), in seconds.
    type: int
    default: 3600
notes:
  - "Calls: none when the map has the region's AMI; with O(copy): 1 C(ec2:DescribeImages) for the stack's copy (all
    when the copy exists); without one, then C(ec2:DescribeImages) in O(source_region), C(ec2:CopyImage), a
    C(ec2:DescribeImages) of the copy (and C(ec2:CreateTags) when it came back untagged); with O(wait), 1
    C(ec2:DescribeImages) per poll while the copy is pending."
  - "O(state=absent): C(ec2:DescribeImages) and C(ec2:DescribeSnapshots), then per copy found C(ec2:DeregisterImage), which
    deletes its snapshots too, and C(ec2:DeleteSnapshot) for a snapshot that call did not delete, or that is tagged as
    the stack's copy's and no image names any more (a run killed on an endpoint that ignores C(DeleteAssociatedSnapshots))."
"""

EXAMPLES = r"""
- name: The OSWorld AMI in eu-west-1, copied from us-east-1 if needed
  osworld.aws.image:
    region: eu-west-1
    copy: true
  register: image

- name: Launch from it
  osworld.aws.fleet:
    region: eu-west-1
    count: 2
    image_id_map: "{{ image.image_id_map }}"

- name: Deregister the stack's copies and delete their snapshots
  osworld.aws.image:
    region: eu-west-1
    state: absent
"""

RETURN = r"""
image_id:
  description: The AMI for the region and screen size (in check mode, C((created)) for a copy that would be made).
  returned: state=present
  type: str
  sample: ami-0123456789abcdef0
image_id_map:
  description: O(image_id_map) with RV(image_id) as the region's AMI for O(screen_size).
  returned: state=present
  type: dict
  sample: {"us-east-1": {"1920x1080": "ami-0d23263edb96951d8"}, "eu-west-1": {"1920x1080": "ami-0123456789abcdef0"}}
state:
  description: The copy's state (C(pending), C(available)); null when the map had the AMI (not looked up).
  returned: state=present
  type: str
image_copy:
  description: Whether RV(image_id) is a copy the collection made.
  returned: state=present
  type: bool
copied:
  description: Whether this run started the copy.
  returned: state=present
  type: bool
source_image_id:
  description: The AMI the copy was made from.
  returned: when RV(image_copy)
  type: str
source_region:
  description: The region the copy was made from.
  returned: when RV(image_copy)
  type: str
name:
  description: The copy's AMI name, C(<stack>-osworld-<screen size>-from-<source AMI>).
  returned: when RV(image_copy)
  type: str
  sample: osworld-osworld-1920x1080-from-ami-0d23263edb96951d8
region:
  description: The region whose AMI this is.
  returned: state=present
  type: str
  sample: eu-west-1
screen_size:
  description: O(screen_size).
  returned: state=present
  type: str
  sample: "1920x1080"
progress:
  description: One line per poll while waiting.
  returned: state=present
  type: list
  elements: str
deregistered:
  description: The copies deregistered (in check mode, that would be).
  returned: state=absent
  type: list
  elements: str
deleted_snapshots:
  description: Their snapshots, and tagged copies' snapshots that no image names any more, deleted (in check mode, that would be).
  returned: state=absent
  type: list
  elements: str
"""

from typing import Any

from ansible_collections.osworld.aws.plugins.module_utils._osworld.aws import AWS
from ansible_collections.osworld.aws.plugins.module_utils._osworld.image_copy import ImageSpec, ensure_image, remove_copies
from ansible_collections.osworld.aws.plugins.module_utils._osworld.module import OSWorldAWSModule, run_module


def present(aws: AWS, spec: ImageSpec, module: OSWorldAWSModule) -> dict[str, Any]:
    progress: list[str] = []
    return {**ensure_image(aws, spec, module.check_mode, progress.append), "progress": progress}


def absent(aws: AWS, spec: ImageSpec, module: OSWorldAWSModule) -> dict[str, Any]:
    return remove_copies(aws, spec.stack, module.check_mode)


def main() -> None:
    run_module(ImageSpec, present, absent)


if __name__ == "__main__":
    main()
