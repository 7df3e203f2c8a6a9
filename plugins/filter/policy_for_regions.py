# Copyright: osworld.aws contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: policy_for_regions
short_description: An IAM policy document of the collection, pinned to the regions you run in
version_added: 0.1.0
description:
  - Sets every C(aws:RequestedRegion) condition of the policy document to the regions given (one
    region as a string, several as a list); statements without that condition are unchanged.
  - The shipped C(policies/operator.json) pins C(us-east-1); C(playbooks/policies.yml) uses this
    filter to write the policies for another region.
author: OSWorld AWS maintainers (@osworld-aws)
options:
  _input:
    description: An IAM policy document (a dict with C(Version) and C(Statement)).
    type: dict
    required: true
  regions:
    description: The region, or the list of regions, the policy allows changes in.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: The operator policy for eu-west-1
  ansible.builtin.copy:
    content: "{{ lookup('ansible.builtin.file', 'policies/operator.json') | from_json | osworld.aws.policy_for_regions(['eu-west-1']) | to_nice_json }}"
    dest: operator-eu-west-1.json
    mode: "0644"
"""

RETURN = r"""
_value:
  description: The policy document with its C(aws:RequestedRegion) conditions set to the regions.
  type: dict
"""

from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.osworld.aws.plugins.module_utils._osworld.errors import OSWorldError
from ansible_collections.osworld.aws.plugins.module_utils._osworld.policies import for_regions


def policy_for_regions(document: dict[str, Any], regions: str | list[str]) -> dict[str, Any]:
    try:
        return for_regions(document, regions)
    except OSWorldError as exc:
        raise AnsibleFilterError(exc.message) from exc


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"policy_for_regions": policy_for_regions}
