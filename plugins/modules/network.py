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
  - osworld.aws.connection.modules
  - osworld.aws.stack
  - osworld.aws.stack.tags
  - osworld.aws.attributes
  - osworld.aws.attributes.ALL
options:
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
from ansible_collections.osworld.aws.plugins.module_utils._osworld.module import OSWorldAWSModule, run_module
from ansible_collections.osworld.aws.plugins.module_utils._osworld.network import NetworkSpec, adopt_network, ensure_network, remove_network


def present(aws: AWS, spec: NetworkSpec, module: OSWorldAWSModule) -> dict[str, Any]:
    if spec.adopts:
        return adopt_network(aws, spec.vpc_id, spec.subnet_id)
    return ensure_network(aws, spec, module.check_mode)


def absent(aws: AWS, spec: NetworkSpec, module: OSWorldAWSModule) -> dict[str, Any]:
    return remove_network(aws, spec.stack, module.check_mode)


def main() -> None:
    run_module(NetworkSpec, present, absent)


if __name__ == "__main__":
    main()
