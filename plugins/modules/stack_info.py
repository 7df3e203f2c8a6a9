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
  - With O(scheduler_role=true) or O(scheduler_role_name), also returns the TTL scheduler role's ARN for the OSWorld C(.env);
    with O(manage_iam=true) one IAM GetRole, and only a role tagged C(osworld:managed-by=osworld.aws)
    counts; with O(manage_iam=false) and O(enable_ttl=true), the administrator's role ARN built
    from the caller's account (one STS GetCallerIdentity, which needs no permission), no IAM call.
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
  scheduler_role:
    description:
      - Return the ARN of the stack's TTL scheduler role, C(<stack>-ttl-scheduler-<region>) (the one
        M(osworld.aws.host_iam) makes), as RV(scheduler_role_arn).
      - V(false) (and no O(scheduler_role_name)), the module makes no IAM or STS call and returns no RV(scheduler_role_arn).
    type: bool
    default: false
  scheduler_role_name:
    description:
      - The TTL scheduler role whose ARN to return as RV(scheduler_role_arn), instead of the stack's.
    type: str
  manage_iam:
    description:
      - V(true), the collection made the role (C(osworld_manage_iam)), so it is looked up by name.
      - V(false), an administrator made it, so its ARN is built from the caller's account, with no IAM call.
    type: bool
    default: true
  enable_ttl:
    description: With O(manage_iam=false), whether there is a TTL scheduler role at all (C(osworld_enable_ttl)).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Where OSWorld VMs of the stack go
  osworld.aws.stack_info:
    stack: osworld
  register: stack

- name: The stack and its TTL scheduler role (what client.yml writes to the .env)
  osworld.aws.stack_info:
    stack: osworld
    scheduler_role: true
  register: stack_with_ttl

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
scheduler_role_arn:
  description: The TTL scheduler role's ARN (the OSWorld C(AWS_SCHEDULER_ROLE_ARN)); empty when there is none to use.
  returned: with O(scheduler_role=true) or O(scheduler_role_name)
  type: str
  sample: arn:aws:iam::123456789012:role/osworld-ttl-scheduler-us-east-1
"""

from dataclasses import dataclass
from typing import Any

from ansible_collections.osworld.aws.plugins.module_utils._osworld.aws import AWS
from ansible_collections.osworld.aws.plugins.module_utils._osworld.host_iam import iam_names
from ansible_collections.osworld.aws.plugins.module_utils._osworld.module import OSWorldAWSModule, run_module
from ansible_collections.osworld.aws.plugins.module_utils._osworld.options import Options, blank_is_none, option, resource_id, stack_option
from ansible_collections.osworld.aws.plugins.module_utils._osworld.stack import find_scheduler_role_arn, find_stack_network


@dataclass(frozen=True)
class StackInfoOptions(Options):
    stack: str = stack_option()
    subnet_id: str | None = option("str", checks=[blank_is_none, resource_id("subnet")])
    security_group_id: str | None = option("str", checks=[blank_is_none, resource_id("sg")])
    scheduler_role: bool = option("bool", False)
    scheduler_role_name: str | None = option("str", checks=[blank_is_none])
    manage_iam: bool = option("bool", True)
    enable_ttl: bool = option("bool", False)


def describe_stack(aws: AWS, spec: StackInfoOptions, module: OSWorldAWSModule) -> dict[str, Any]:
    network = find_stack_network(aws, spec.stack, spec.subnet_id, spec.security_group_id)
    result: dict[str, Any] = {"changed": False, **network.as_dict()}
    role_name = spec.scheduler_role_name or (iam_names(spec.stack, aws.region)[1] if spec.scheduler_role else None)
    if role_name:
        result["scheduler_role_arn"] = find_scheduler_role_arn(aws, role_name, spec.manage_iam, spec.enable_ttl)
    return result


def main() -> None:
    run_module(StackInfoOptions, describe_stack)


if __name__ == "__main__":
    main()
