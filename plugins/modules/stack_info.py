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
  - osworld.aws.attributes
  - osworld.aws.attributes.READ_ONLY
options:
  stack:
    description: The stack (the C(osworld_name_prefix) of provision.yml).
    type: str
    default: osworld
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

from typing import Any

from ansible_collections.osworld.aws.plugins.module_utils._osworld.aws import AWS
from ansible_collections.osworld.aws.plugins.module_utils._osworld.module import OSWorldAWSModule
from ansible_collections.osworld.aws.plugins.module_utils._osworld.stack import find_stack_network
from ansible_collections.osworld.aws.plugins.module_utils._osworld.validation import validate_resource_id


def main() -> None:
    module = OSWorldAWSModule(
        argument_spec={
            "stack": {"type": "str", "default": "osworld"},
            "subnet_id": {"type": "str"},
            "security_group_id": {"type": "str"},
        },
        supports_check_mode=True,
    )
    params = module.params

    def run(aws: AWS) -> dict[str, Any]:
        subnet_id = params["subnet_id"] or None
        group_id = params["security_group_id"] or None
        if subnet_id:
            validate_resource_id(subnet_id, "subnet", "subnet_id")
        if group_id:
            validate_resource_id(group_id, "sg", "security_group_id")
        network = find_stack_network(aws, params["stack"], subnet_id, group_id)
        return {"changed": False, **network.as_dict()}

    module.run(run)


if __name__ == "__main__":
    main()
