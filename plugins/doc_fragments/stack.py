# Copyright: osworld.aws contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment:
    # The options of the modules that work on a stack's resources; the Python side is
    # module_utils/_osworld/options.py (stack_option, extra_tags_option).
    DOCUMENTATION = r"""
options:
  stack:
    description:
      - The stack, the C(osworld_name_prefix) of the playbooks. What the collection creates for a
        stack carries the tag C(osworld:stack=<stack>), and the stack's network, security groups,
        image copies and key pair are found again by that tag; another stack's are never touched.
    type: str
    default: osworld
"""

    TAGS = r"""
options:
  extra_tags:
    description:
      - Tags added to everything this module creates, at creation (for tag-gated IAM policies).
      - Keys starting with C(osworld:) are reserved for the collection and ignored.
    type: dict
    default: {}
"""
