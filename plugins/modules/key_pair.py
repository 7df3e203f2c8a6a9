#!/usr/bin/python
# Copyright: osworld.aws contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: key_pair
short_description: The EC2 key pair of the OSWorld VMs and host, created (or imported) when missing
version_added: 0.1.0
description:
  - Makes sure key pair O(name) (the guide's KEY_NAME) exists in the region. A key pair that exists
    is used as is, whoever made it.
  - When it is missing, creates an ED25519 key pair tagged at creation (C(osworld:managed-by),
    C(osworld:stack), C(osworld:component=key-pair)) and writes its private key to O(key_file) with
    mode 0600. An existing O(key_file) is never overwritten (the module fails before creating
    anything), and the private key is never returned or logged.
  - With O(public_key_file), imports that public key instead (ImportKeyPair, tagged the same way);
    no file is written.
  - O(state=absent) deletes the key pair only when it carries the collection's tag and the stack's;
    the private key file is left in place and RV(key_file) says where it is.
author: OSWorld AWS maintainers (@osworld-aws)
extends_documentation_fragment:
  - osworld.aws.connection
  - osworld.aws.connection.modules
  - osworld.aws.stack
  - osworld.aws.stack.tags
  - osworld.aws.attributes
  - osworld.aws.attributes.ALL
options:
  name:
    description: The key pair's name (C(osworld_key_name)).
    type: str
    default: osworld_key
  key_file:
    description:
      - Where the private key of a created key pair is written (C(osworld_key_file)), mode 0600; its
        directory is created with mode 0700 when missing.
      - Defaults to C(~/.ssh/<name>-<region>.pem).
    type: path
  public_key_file:
    description: An OpenSSH public key file (C(osworld_key_public_file)) to import instead of creating a key pair.
    type: path
  state:
    description: C(present) makes sure it exists; C(absent) deletes it if the collection created it for O(stack).
    type: str
    choices: [present, absent]
    default: present
notes:
  - "Calls: C(ec2:DescribeKeyPairs); when missing, C(ec2:CreateKeyPair) or C(ec2:ImportKeyPair); with O(state=absent),
    C(ec2:DeleteKeyPair) for a key pair the collection created."
"""

EXAMPLES = r"""
- name: Key pair osworld_key in eu-west-1, its private key in ~/.ssh/osworld_key-eu-west-1.pem
  osworld.aws.key_pair:
    region: eu-west-1
  register: key

- name: Import my own public key instead
  osworld.aws.key_pair:
    name: my-osworld-key
    public_key_file: ~/.ssh/id_ed25519.pub

- name: Delete it again (only if the collection created it)
  osworld.aws.key_pair:
    region: eu-west-1
    state: absent
"""

RETURN = r"""
key_name:
  description: The key pair's name.
  returned: always
  type: str
  sample: osworld_key
key_pair_id:
  description: Its id (absent in check mode before creation).
  returned: when it exists
  type: str
key_fingerprint:
  description: Its fingerprint.
  returned: when it exists
  type: str
key_type:
  description: Its type (C(ed25519) when created by the module).
  returned: when known
  type: str
managed:
  description: Whether the collection created it for this stack (its tags).
  returned: always
  type: bool
created:
  description: Whether this run created it.
  returned: state=present
  type: bool
imported:
  description: Whether this run imported O(public_key_file).
  returned: state=present
  type: bool
deleted:
  description: Whether this run deleted it.
  returned: state=absent
  type: bool
key_file:
  description: The private key file's path (written by this run when RV(created)).
  returned: always
  type: str
  sample: /home/me/.ssh/osworld_key-eu-west-1.pem
key_file_exists:
  description: Whether RV(key_file) exists.
  returned: always
  type: bool
ssh_user:
  description: The login of the OSWorld host's Ubuntu image, for C(ssh -i <key_file> <ssh_user>@<public ip>).
  returned: always
  type: str
  sample: ubuntu
"""

from typing import Any

from ansible_collections.osworld.aws.plugins.module_utils._osworld.aws import AWS
from ansible_collections.osworld.aws.plugins.module_utils._osworld.keys import KeySpec, ensure_key_pair, remove_key_pair
from ansible_collections.osworld.aws.plugins.module_utils._osworld.module import OSWorldAWSModule, run_module


def present(aws: AWS, spec: KeySpec, module: OSWorldAWSModule) -> dict[str, Any]:
    # The private key is masked in anything Ansible would print, should it ever reach a result.
    return ensure_key_pair(aws, spec, module.check_mode, module.module.no_log_values.add)


def absent(aws: AWS, spec: KeySpec, module: OSWorldAWSModule) -> dict[str, Any]:
    return remove_key_pair(aws, spec, module.check_mode)


def main() -> None:
    run_module(KeySpec, present, absent)


if __name__ == "__main__":
    main()
