# Copyright: osworld.aws contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: admin_iam_arn
short_description: The ARN of an administrator-made IAM role or instance profile, from the caller's identity
version_added: 0.1.0
description:
  - With C(osworld_manage_iam=false) an administrator made the host's instance profile and the TTL
    scheduler role; their ARNs are built from the caller's account and partition, so that no IAM
    call (which the operator may not be allowed) resolves a name.
  - The input is what C(amazon.aws.aws_caller_info) registers; an empty string comes back when it
    holds no ARN (the task was skipped).
  - The same rule M(osworld.aws.stack_info) uses for RV(osworld.aws.stack_info#module:scheduler_role_arn).
author: OSWorld AWS maintainers (@osworld-aws)
positional: _input, resource
options:
  _input:
    description: The registered result of C(amazon.aws.aws_caller_info) (its C(arn) and C(account)).
    type: dict
    required: true
  resource:
    description: C(role/<name>) or C(instance-profile/<name>).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Find the account that holds the administrator-made roles
  amazon.aws.aws_caller_info:
  register: caller

- name: The administrator's TTL scheduler role
  ansible.builtin.debug:
    msg: "{{ caller | osworld.aws.admin_iam_arn('role/osworld-ttl-scheduler-us-east-1') }}"
"""

RETURN = r"""
_value:
  description: The ARN, or an empty string when the input holds no caller ARN.
  type: str
  sample: arn:aws:iam::123456789012:role/osworld-ttl-scheduler-us-east-1
"""

from collections.abc import Mapping
from typing import Any

from ansible_collections.osworld.aws.plugins.module_utils._osworld.stack import admin_iam_arn as build_arn


def admin_iam_arn(caller: Mapping[str, Any] | None, resource: str) -> str:
    caller = caller or {}
    if not caller.get("arn"):
        return ""
    return build_arn(str(caller["arn"]), str(caller["account"]), resource)


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"admin_iam_arn": admin_iam_arn}
