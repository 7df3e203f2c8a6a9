#!/usr/bin/python
# Copyright: osworld.aws contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: stack_info
short_description: The subnet and security groups of an OSWorld stack that provision.yml made
version_added: 0.1.0
description:
  - Finds the stack's env security group by its tags, with one DescribeSecurityGroups call, and
    returns it with the subnet it names and the host security group.
  - Fails with "run provision.yml first" when the stack has no env security group.
  - Changes nothing.
author: OSWorld AWS maintainers (@osworld-aws)
extends_documentation_fragment:
  - osworld.aws.connection
  - osworld.aws.connection.modules
  - osworld.aws.stack
  - osworld.aws.attributes
  - osworld.aws.attributes.READ_ONLY
options:
  subnet_id:
    description: Report this subnet instead of the one the env group names.
    type: str
  security_group_id:
    description: Report this security group as the env group instead of the stack's.
    type: str
"""

EXAMPLES = r"""
- name: Where OSWorld VMs of the stack go
  osworld.aws.stack_info:
    stack: osworld
  register: stack

- name: The OSWorld .env values
  ansible.builtin.debug:
    msg: "AWS_SUBNET_ID={{ stack.subnet_id }} AWS_SECURITY_GROUP_ID={{ stack.env_security_group_id }}"
"""

RETURN = r"""
vpc_id:
  description: The VPC of the env security group.
  returned: success
  type: str
  sample: vpc-0123456789abcdef0
subnet_id:
  description: The subnet env VMs launch into (the OSWorld C(AWS_SUBNET_ID)).
  returned: success
  type: str
  sample: subnet-0123456789abcdef0
env_security_group_id:
  description: The env VMs' security group (the OSWorld C(AWS_SECURITY_GROUP_ID)).
  returned: success
  type: str
  sample: sg-0123456789abcdef0
host_security_group_id:
  description: The host's security group, when the stack has one.
  returned: success
  type: str
  sample: sg-0fedcba9876543210
"""

from dataclasses import dataclass
from typing import Any

from ansible_collections.osworld.aws.plugins.module_utils._osworld.aws import AWS
from ansible_collections.osworld.aws.plugins.module_utils._osworld.module import OSWorldAWSModule
from ansible_collections.osworld.aws.plugins.module_utils._osworld.options import Options, blank_is_none, option, resource_id, stack_option
from ansible_collections.osworld.aws.plugins.module_utils._osworld.stack import find_stack_network


@dataclass(frozen=True)
class StackInfoOptions(Options):
    stack: str = stack_option()
    subnet_id: str | None = option("str", checks=[blank_is_none, resource_id("subnet")])
    security_group_id: str | None = option("str", checks=[blank_is_none, resource_id("sg")])


def main() -> None:
    module = OSWorldAWSModule(StackInfoOptions, supports_check_mode=True)
    spec = module.options(StackInfoOptions)

    def run(aws: AWS) -> dict[str, Any]:
        network = find_stack_network(aws, spec.stack, spec.subnet_id, spec.security_group_id)
        return {"changed": False, **network.as_dict()}

    module.run(run)


if __name__ == "__main__":
    main()
