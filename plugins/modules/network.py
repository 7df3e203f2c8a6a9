#!/usr/bin/python
# Copyright: osworld.aws contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: network
short_description: A dedicated VPC for OSWorld, or an adopted existing subnet
version_added: 0.1.0
description:
  - Without O(vpc_id) or O(subnet_id), makes sure the stack has a VPC, a subnet, an internet
    gateway and a route table whose default route goes to the gateway, all tagged
    C(osworld:managed-by=osworld.aws) and C(osworld:stack=<stack>) at creation and found again by
    those tags on the next run.
  - With O(subnet_id) or O(vpc_id), adopts that network; it checks that it exists and reports its
    ids and CIDR (the source of the VPC-internal rules), and creates nothing in it.
  - With O(state=absent), deletes only the pieces carrying the stack's tags; an adopted network is
    never touched. Instances and security groups in it must be gone first.
  - A fresh network takes 8 API calls, a re-run 4 and no mutating call.
author: OSWorld AWS maintainers (@osworld-aws)
extends_documentation_fragment:
  - osworld.aws.connection
  - osworld.aws.attributes
  - osworld.aws.attributes.ALL
options:
  stack:
    description: Name of the stack; used in the C(Name) tags and to find the network again.
    type: str
    default: osworld
  state:
    description: Whether the stack's network should exist.
    type: str
    choices: [present, absent]
    default: present
  vpc_cidr:
    description: CIDR of a dedicated VPC.
    type: str
    default: 172.31.0.0/16
  subnet_cidr:
    description: CIDR of the dedicated subnet, inside O(vpc_cidr).
    type: str
    default: 172.31.0.0/20
  availability_zone:
    description: Zone of the dedicated subnet; AWS picks one when not set.
    type: str
  vpc_id:
    description: Adopt this existing VPC (its first public subnet unless O(subnet_id) is given).
    type: str
  subnet_id:
    description: Adopt this existing subnet (and its VPC).
    type: str
  extra_tags:
    description: Tags added to everything created; keys starting with C(osworld:) are reserved and ignored.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: A dedicated network for OSWorld
  osworld.aws.network:
    stack: osworld
    vpc_cidr: 10.42.0.0/16
    subnet_cidr: 10.42.0.0/20
  register: network

- name: Use the subnet the host already lives in
  osworld.aws.network:
    subnet_id: subnet-0123456789abcdef0

- name: Delete the dedicated network (security groups and VMs first)
  osworld.aws.network:
    stack: osworld
    state: absent
"""

RETURN = r"""
vpc_id:
  description: The VPC's id.
  returned: state=present
  type: str
  sample: vpc-0123456789abcdef0
vpc_cidr:
  description: The VPC's primary CIDR, the source of the env group's internal rules.
  returned: state=present
  type: str
  sample: 172.31.0.0/16
subnet_id:
  description: The subnet the host and the env VMs use (the OSWorld C(AWS_SUBNET_ID)).
  returned: state=present
  type: str
  sample: subnet-0123456789abcdef0
subnet_cidr:
  description: The subnet's CIDR.
  returned: state=present
  type: str
availability_zone:
  description: The subnet's zone.
  returned: state=present
  type: str
internet_gateway_id:
  description: The gateway of a dedicated network; null for an adopted one.
  returned: state=present
  type: str
route_table_id:
  description: The route table of a dedicated network; null for an adopted one.
  returned: state=present
  type: str
adopted:
  description: Whether the network was adopted rather than created by the collection.
  returned: state=present
  type: bool
created:
  description: What this run created (or would create in check mode).
  returned: state=present and not adopted
  type: list
  elements: str
removed:
  description: Ids of what was deleted (or would be, in check mode).
  returned: state=absent
  type: list
  elements: str
"""

from typing import Any

from ansible_collections.osworld.aws.plugins.module_utils._osworld.aws import AWS
from ansible_collections.osworld.aws.plugins.module_utils._osworld.module import OSWorldAWSModule
from ansible_collections.osworld.aws.plugins.module_utils._osworld.network import (
    NetworkSpec,
    adopt_network,
    ensure_network,
    remove_network,
)
from ansible_collections.osworld.aws.plugins.module_utils._osworld.validation import validate_cidr, validate_resource_id


def main() -> None:
    module = OSWorldAWSModule(
        argument_spec={
            "stack": {"type": "str", "default": "osworld"},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "vpc_cidr": {"type": "str", "default": "172.31.0.0/16"},
            "subnet_cidr": {"type": "str", "default": "172.31.0.0/20"},
            "availability_zone": {"type": "str"},
            "vpc_id": {"type": "str"},
            "subnet_id": {"type": "str"},
            "extra_tags": {"type": "dict", "default": {}},
        },
        supports_check_mode=True,
    )
    params = module.params

    def run(aws: AWS) -> dict[str, Any]:
        if params["state"] == "absent":
            return remove_network(aws, params["stack"], module.check_mode)
        if params["subnet_id"] or params["vpc_id"]:
            subnet_id = params["subnet_id"] and validate_resource_id(params["subnet_id"], "subnet", "subnet_id")
            vpc_id = params["vpc_id"] and validate_resource_id(params["vpc_id"], "vpc", "vpc_id")
            return adopt_network(aws, vpc_id, subnet_id)
        spec = NetworkSpec(
            stack=params["stack"],
            vpc_cidr=validate_cidr(params["vpc_cidr"], "vpc_cidr"),
            subnet_cidr=validate_cidr(params["subnet_cidr"], "subnet_cidr"),
            availability_zone=params["availability_zone"],
            extra_tags=params["extra_tags"],
        )
        return ensure_network(aws, spec, module.check_mode)

    module.run(run)


if __name__ == "__main__":
    main()
