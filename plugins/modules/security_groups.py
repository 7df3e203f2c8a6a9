#!/usr/bin/python
# Copyright: osworld.aws contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: security_groups
short_description: The OSWorld env and host security groups, kept exactly as the guide says
version_added: 0.1.0
description:
  - Creates or repairs the security group of the OSWorld environment VMs with exactly the
    guide's 8 inbound rules and 1 outbound rule, and the host machine's group with SSH and the
    monitor port, named C(<stack>-env) and C(<stack>-host).
  - Rules someone added by hand are removed, missing ones restored, and a changed description is
    updated in place (a rule is identified by direction, protocol, ports and source).
  - Groups are found again by the tags C(osworld:managed-by=osworld.aws), C(osworld:stack) and
    C(osworld:component); with O(state=absent) only groups carrying those tags are deleted.
  - Ports 80, 5000, 8006, 8080, 8081 and 9222 are opened to O(internal_cidr) only, which must be a
    private range; port 5000 runs commands without authentication.
  - With O(state=absent), the instances still in the groups are named before anything is deleted
    (instance id and who launched it, a fleet, the host, the OSWorld client, or someone else) and the
    module fails without deleting; with O(terminate_client_vms=true) the OSWorld client's own untagged
    VMs in the env group are terminated first.
author: OSWorld AWS maintainers (@osworld-aws)
extends_documentation_fragment:
  - osworld.aws.connection
  - osworld.aws.connection.modules
  - osworld.aws.stack
  - osworld.aws.stack.tags
  - osworld.aws.attributes
  - osworld.aws.attributes.ALL
options:
  state:
    description: Whether the groups should exist.
    type: str
    choices: [present, absent]
    default: present
  vpc_id:
    description: The VPC of the groups. Required with O(state=present).
    type: str
  subnet_id:
    description:
      - The subnet the env VMs launch into, recorded as the tag C(osworld:subnet) on the env group
        so that M(osworld.aws.fleet) finds it again. Required with O(state=present).
    type: str
  admin_cidrs:
    description: Sources of SSH (22) and noVNC (5910) on the VMs, and of SSH and the monitor port on the host.
    type: list
    elements: str
    default: ["0.0.0.0/0"]
  internal_cidr:
    description: Source of the VPC-internal ports (80, 5000, 8006, 8080, 8081, 9222), such as the VPC's CIDR. Required with O(state=present).
    type: str
  monitor_port:
    description: The host's monitor dashboard port.
    type: int
    default: 8080
  host_group:
    description: Whether to manage the host machine's group too.
    type: bool
    default: true
  terminate_client_vms:
    description:
      - With O(state=absent), first terminate the VMs the OSWorld client launched itself (untagged, in
        nothing but the env group) and wait until they are gone. Other VMs are never terminated.
    type: bool
    default: false
  wait_timeout:
    description: Longest wait, in seconds, for those VMs to be terminated.
    type: int
    default: 600
"""

EXAMPLES = r"""
- name: The guide's security groups in a VPC, SSH and noVNC from the office only
  osworld.aws.security_groups:
    vpc_id: vpc-0123456789abcdef0
    subnet_id: subnet-0123456789abcdef0
    internal_cidr: 10.20.0.0/16
    admin_cidrs: [203.0.113.0/24]

- name: Delete the stack's groups (only those the collection created), terminating the OSWorld client's VMs in them first
  osworld.aws.security_groups:
    stack: osworld
    state: absent
    terminate_client_vms: true
"""

RETURN = r"""
env_security_group_id:
  description: Id of the env VMs' group (the OSWorld C(AWS_SECURITY_GROUP_ID)).
  returned: state=present
  type: str
  sample: sg-0123456789abcdef0
host_security_group_id:
  description: Id of the host's group.
  returned: state=present and host_group=true
  type: str
  sample: sg-0fedcba9876543210
groups:
  description: Each managed group by component, with its rules and tags after the run.
  returned: state=present
  type: dict
  contains:
    group_id:
      description: The group's id.
      type: str
    rules:
      description: The group's rules (direction, protocol, from_port, to_port, source, description).
      type: list
      elements: dict
removed:
  description: The groups deleted (or that would be, in check mode).
  returned: state=absent
  type: list
  elements: dict
client_vms_terminated:
  description: The OSWorld client's VMs terminated first (or that would be, in check mode).
  returned: state=absent
  type: list
  elements: str
"""

from typing import Any

from ansible_collections.osworld.aws.plugins.module_utils._osworld.aws import AWS
from ansible_collections.osworld.aws.plugins.module_utils._osworld.module import OSWorldAWSModule, run_module
from ansible_collections.osworld.aws.plugins.module_utils._osworld.security_groups import GroupsOptions, ensure_groups, remove_groups
from ansible_collections.osworld.aws.plugins.module_utils._osworld.stack import COMPONENT_ENV_SECURITY_GROUP, COMPONENT_HOST_SECURITY_GROUP


def present(aws: AWS, spec: GroupsOptions, module: OSWorldAWSModule) -> dict[str, Any]:
    vpc_id = spec.present_ids()[0]
    result = ensure_groups(aws, vpc_id, spec.stack, spec.groups(), module.check_mode)
    groups = result["groups"]
    result["env_security_group_id"] = groups[COMPONENT_ENV_SECURITY_GROUP]["group_id"]
    if COMPONENT_HOST_SECURITY_GROUP in groups:
        result["host_security_group_id"] = groups[COMPONENT_HOST_SECURITY_GROUP]["group_id"]
    return result


def absent(aws: AWS, spec: GroupsOptions, module: OSWorldAWSModule) -> dict[str, Any]:
    return remove_groups(aws, spec.stack, module.check_mode, terminate_client_vms=spec.terminate_client_vms, wait_timeout=spec.wait_timeout)


def main() -> None:
    run_module(GroupsOptions, present, absent)


if __name__ == "__main__":
    main()
