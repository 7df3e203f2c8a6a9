#!/usr/bin/python
# Copyright: osworld.aws contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: reap
short_description: Terminate OSWorld VMs that outlived their time, and nothing else
version_added: 0.1.0
description:
  - The cost-leak guard, safe to run every few minutes from cron or an AWX schedule.
  - Terminates (a) VMs the collection launched (C(osworld:managed-by=osworld.aws)) with
    C(osworld:role=env), and C(host) too with O(include_hosts), whose C(osworld:expires-at) has passed.
  - Terminates (b) VMs the OSWorld client launched itself, which carry no C(osworld:managed-by) tag,
    when every security group they are in is an OSWorld env security group (those the collection
    created, found by tags, plus O(security_group_ids)) and they were launched at least
    O(ttl_minutes) ago. A VM that shares the env group with any other group (a host) is spared.
  - Never touches any other VM, nor a collection VM whose expiry tag is missing or unreadable
    (reported in RV(kept) and warned about).
  - In check mode lists in RV(reaped) what would be terminated.
author: OSWorld AWS maintainers (@osworld-aws)
extends_documentation_fragment:
  - osworld.aws.connection
  - osworld.aws.connection.modules
  - osworld.aws.attributes
  - osworld.aws.attributes.ALL
options:
  ttl_minutes:
    description: Age after which an untagged VM of the OSWorld client is reaped, by its launch time.
    type: int
    default: 180
  expired:
    description: Reap the collection's VMs past C(osworld:expires-at).
    type: bool
    default: true
  untagged:
    description: Reap the OSWorld client's own (untagged) VMs older than O(ttl_minutes).
    type: bool
    default: true
  include_hosts:
    description: Also reap the collection's host VMs (C(osworld:role=host)) past their expiry.
    type: bool
    default: false
  security_group_ids:
    description:
      - More env security groups whose untagged VMs are the OSWorld client's, for a group the
        collection did not create (C(osworld_security_group_id)).
      - Only name groups that hold nothing but OSWorld VMs.
    type: list
    elements: str
    default: []
  wait:
    description: Wait until the reaped VMs are terminated.
    type: bool
    default: false
  wait_timeout:
    description: Longest wait for O(wait), in seconds.
    type: int
    default: 600
"""

EXAMPLES = r"""
- name: Terminate OSWorld VMs that outlived their time
  osworld.aws.reap:
    region: us-east-1
    ttl_minutes: 180

- name: What would go (check mode)
  osworld.aws.reap:
  check_mode: true
  register: reapable
"""

RETURN = r"""
reaped:
  description: The VMs terminated (in check mode, that would be), sorted by instance id.
  returned: always
  type: list
  elements: dict
  contains:
    instance_id:
      description: The instance id.
      type: str
    reason:
      description: C(expired), or C(untagged client VM past ttl).
      type: str
    launched_by:
      description: C(osworld.aws) (tagged) or C(osworld-client) (untagged, in an env security group).
      type: str
    state:
      description: The state before the run.
      type: str
    fleet:
      description: The VM's fleet, when tagged.
      type: str
    expires_at:
      description: The VM's C(osworld:expires-at), when tagged.
      type: str
    launch_time:
      description: When the VM was launched (UTC ISO 8601).
      type: str
kept:
  description: The other OSWorld VMs and why they stay (same fields as RV(reaped)).
  returned: always
  type: list
  elements: dict
env_security_group_ids:
  description: The env security groups whose untagged VMs count as the OSWorld client's.
  returned: always
  type: list
  elements: str
"""

from typing import Any

from ansible_collections.osworld.aws.plugins.module_utils._osworld.aws import AWS
from ansible_collections.osworld.aws.plugins.module_utils._osworld.module import OSWorldAWSModule, run_module
from ansible_collections.osworld.aws.plugins.module_utils._osworld.reaper import ReapPolicy, reap


def reap_expired(aws: AWS, policy: ReapPolicy, module: OSWorldAWSModule) -> dict[str, Any]:
    extra_env_group_ids = [group_id for group_id in policy.security_group_ids if group_id]
    return reap(aws, policy, module.check_mode, extra_env_group_ids=extra_env_group_ids, wait=policy.wait, wait_timeout=policy.wait_timeout)


def main() -> None:
    run_module(ReapPolicy, reap_expired)


if __name__ == "__main__":
    main()
