#!/usr/bin/python
# Copyright: osworld.aws contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: host_iam
short_description: The OSWorld host's IAM role and instance profile, and the TTL scheduler role
version_added: 0.1.0
description:
  - With O(host_instance_profile=true), makes sure role and instance profile C(<stack>-host-<region>) exist,
    the role trusting C(ec2.amazonaws.com) and carrying O(host_policy_file) as its inline policy
    C(osworld-host), and the profile holding the role; the host machine launched with it needs no keys on disk.
  - With O(enable_ttl=true), makes sure role C(<stack>-ttl-scheduler-<region>) exists with the trust of
    O(ttl_scheduler_trust_file) and O(ttl_scheduler_policy_file) as its inline policy C(osworld-ttl-scheduler);
    EventBridge Scheduler assumes it to terminate OSWorld VMs when their TTL ends, so the OSWorld client only passes it.
  - IAM names are account-wide, so they hold the region. Pieces are created tagged C(osworld:managed-by=osworld.aws),
    C(osworld:stack), C(osworld:component), C(osworld:role=host) and C(Name); on a re-run only what differs is
    written (trust, description, missing tags, the inline policy), and no tag is removed.
  - A role or profile of the same name without the collection's tags for O(stack) makes the module fail before
    any write; it is never changed or deleted.
  - O(state=absent) deletes the stack's instance profile and both roles (their inline policies first), only
    those tagged for O(stack); others of those names are listed in RV(kept).
  - With O(manage_iam=false) an administrator made the pieces (see C(docs/iam.md)), so the module makes no IAM call, and the ARNs
    are built from the caller's account (STS C(GetCallerIdentity), which needs no permission).
author: OSWorld AWS maintainers (@osworld-aws)
extends_documentation_fragment:
  - osworld.aws.connection
  - osworld.aws.connection.modules
  - osworld.aws.stack
  - osworld.aws.stack.tags
  - osworld.aws.attributes
  - osworld.aws.attributes.ALL
options:
  host_instance_profile:
    description: The host's role and instance profile (the C(osworld.aws.host) role sets it when it launches a host with a profile).
    type: bool
    default: false
  host_policy_file:
    description:
      - The host role's permissions, a JSON IAM policy (C(policies/host.json)); required with O(host_instance_profile=true).
      - Role ARNs of the default stack in it, C(arn:aws:iam::*:role/osworld-...), are written with O(stack) in place of C(osworld),
        so that the host may pass its own stack's TTL scheduler role.
    type: path
  enable_ttl:
    description: The TTL scheduler role (C(osworld_enable_ttl)).
    type: bool
    default: false
  ttl_scheduler_policy_file:
    description:
      - The TTL scheduler role's permissions (C(policies/ttl-scheduler.json)); required with O(enable_ttl=true).
      - A file of the older form, a JSON object with C(trust) and C(permissions), still works; its C(trust) wins over O(ttl_scheduler_trust_file).
    type: path
  ttl_scheduler_trust_file:
    description: The TTL scheduler role's trust policy (C(policies/ttl-scheduler-trust.json)); required with O(enable_ttl=true).
    type: path
  manage_iam:
    description:
      - V(true), the collection makes and deletes the pieces.
      - V(false), an administrator made them; the module only returns their ARNs, and O(state=absent) does nothing.
    type: bool
    default: true
  state:
    description: C(present) makes sure the pieces asked for exist; C(absent) deletes the stack's pieces.
    type: str
    choices: [present, absent]
    default: present
notes:
  - "Calls with O(state=present): C(iam:GetRole) and C(iam:GetRolePolicy) for each role, C(iam:GetInstanceProfile); then,
    for what is missing or differs, C(iam:CreateRole), C(iam:UpdateAssumeRolePolicy), C(iam:UpdateRole), C(iam:TagRole),
    C(iam:PutRolePolicy), C(iam:CreateInstanceProfile), C(iam:TagInstanceProfile), C(iam:RemoveRoleFromInstanceProfile) and
    C(iam:AddRoleToInstanceProfile)."
  - "Calls with O(state=absent): C(iam:GetRole) for each name, and C(iam:GetInstanceProfile) when the host role exists; for the stack's pieces,
    C(iam:RemoveRoleFromInstanceProfile), C(iam:DeleteInstanceProfile), C(iam:ListRolePolicies), C(iam:DeleteRolePolicy)
    and C(iam:DeleteRole). A managed policy someone attached to a role makes IAM refuse its deletion (C(DeleteConflict))."
"""

EXAMPLES = r"""
- name: The host's role and instance profile, and the TTL scheduler role
  osworld.aws.host_iam:
    region: eu-west-1
    host_instance_profile: true
    host_policy_file: policies/host.json
    enable_ttl: true
    ttl_scheduler_policy_file: policies/ttl-scheduler.json
    ttl_scheduler_trust_file: policies/ttl-scheduler-trust.json
  register: iam

- name: Launch the host with it
  ansible.builtin.debug:
    msg: "iam_instance_profile: {{ iam.host_instance_profile_arn }}, AWS_SCHEDULER_ROLE_ARN={{ iam.scheduler_role_arn }}"

- name: Delete the stack's roles and profile
  osworld.aws.host_iam:
    region: eu-west-1
    state: absent
"""

RETURN = r"""
host_role_arn:
  description: The host role's ARN; empty when it is not asked for, or check mode would create it.
  returned: state=present
  type: str
  sample: arn:aws:iam::123456789012:role/osworld-host-eu-west-1
host_instance_profile_arn:
  description: The host's instance profile ARN, for the host's launch; empty when it is not asked for, or check mode would create it.
  returned: state=present
  type: str
  sample: arn:aws:iam::123456789012:instance-profile/osworld-host-eu-west-1
scheduler_role_arn:
  description: The TTL scheduler role's ARN (the OSWorld C(AWS_SCHEDULER_ROLE_ARN)); empty when it is not asked for, or check mode would create it.
  returned: state=present
  type: str
  sample: arn:aws:iam::123456789012:role/osworld-ttl-scheduler-eu-west-1
deleted:
  description: The pieces deleted (or, in check mode, that would be), as C(role/<name>) and C(instance-profile/<name>).
  returned: state=absent
  type: list
  elements: str
  sample: [instance-profile/osworld-host-eu-west-1, role/osworld-host-eu-west-1]
kept:
  description: Pieces of those names that are not the stack's, left in place.
  returned: state=absent
  type: list
  elements: str
  sample: []
"""

from typing import Any

from ansible_collections.osworld.aws.plugins.module_utils._osworld.aws import AWS
from ansible_collections.osworld.aws.plugins.module_utils._osworld.host_iam import HostIAMSpec, ensure_host_iam, remove_host_iam
from ansible_collections.osworld.aws.plugins.module_utils._osworld.module import OSWorldAWSModule, run_module


def present(aws: AWS, spec: HostIAMSpec, module: OSWorldAWSModule) -> dict[str, Any]:
    return ensure_host_iam(aws, spec, module.check_mode)


def absent(aws: AWS, spec: HostIAMSpec, module: OSWorldAWSModule) -> dict[str, Any]:
    return remove_host_iam(aws, spec, module.check_mode)


def main() -> None:
    run_module(HostIAMSpec, present, absent)


if __name__ == "__main__":
    main()
