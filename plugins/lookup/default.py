# Copyright: osworld.aws contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: default
short_description: The collection's shared default of an osworld_* variable
version_added: 0.2.0
description:
  - Returns the default that several roles of the collection share, so that a value such as the
    official OSWorld AMI or the default region is written in one place.
  - V(osworld_region) is E(AWS_REGION), then E(AWS_DEFAULT_REGION), then C(us-east-1).
  - V(osworld_subnet_id) and V(osworld_security_group_id) are E(AWS_SUBNET_ID) and
    E(AWS_SECURITY_GROUP_ID), as an OSWorld shell that exported its C(.env) has them, else empty.
  - The policy files are the absolute paths of the documents in the collection's C(policies/).
  - Makes no AWS call.
author: OSWorld AWS maintainers (@osworld-aws)
options:
  _terms:
    description: >-
      Variable names: V(osworld_admin_cidrs), V(osworld_enable_ttl), V(osworld_env_count),
      V(osworld_env_wait_timeout), V(osworld_fleet), V(osworld_host_ami),
      V(osworld_host_instance_profile), V(osworld_host_instance_type), V(osworld_host_launch),
      V(osworld_host_policy_file), V(osworld_host_volume_size), V(osworld_image_copy),
      V(osworld_image_id_map), V(osworld_image_source_region), V(osworld_instance_type),
      V(osworld_key_create), V(osworld_manage_iam), V(osworld_monitor_port), V(osworld_name_prefix),
      V(osworld_region), V(osworld_screen_size), V(osworld_security_group_id),
      V(osworld_subnet_cidr), V(osworld_subnet_id), V(osworld_ttl_minutes),
      V(osworld_ttl_scheduler_policy_file), V(osworld_ttl_scheduler_trust_file),
      V(osworld_vpc_cidr).
    required: true
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: The image map the roles use when none is given
  ansible.builtin.debug:
    msg: "{{ lookup('osworld.aws.default', 'osworld_image_id_map') }}"
"""

RETURN = r"""
_raw:
  description: The default of each variable named, in order.
  type: list
  elements: raw
"""

from pathlib import Path
from typing import Any

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.osworld.aws.plugins.module_utils._osworld.defaults import role_default
from ansible_collections.osworld.aws.plugins.module_utils._osworld.errors import OSWorldError

# plugins/lookup/default.py: the collection's root is two folders up.
COLLECTION_ROOT = str(Path(__file__).resolve().parents[2])


class LookupModule(LookupBase):
    def run(self, terms: list[Any], variables: dict[str, Any] | None = None, **kwargs: Any) -> list[Any]:
        try:
            return [role_default(str(term), COLLECTION_ROOT) for term in terms]
        except OSWorldError as exc:
            raise AnsibleLookupError(exc.message) from exc
