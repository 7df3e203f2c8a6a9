#!/usr/bin/python
# Copyright: osworld.aws contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: preflight
short_description: Check an OSWorld deployment's inputs and AWS account before anything is created
version_added: 0.1.0
description:
  - Runs first in the collection's playbooks, except C(evaluate.yml), which runs it after looking up the stack and
    not at all with C(osworld_eval_state=absent), and C(policies.yml), which runs none. Checks the inputs without any AWS call, then,
    for the checks that need it, reads the account with a few describe calls. It never changes
    anything.
  - Every failure is one message that names the playbook variable to fix (C(osworld_region),
    C(osworld_image_id_map['us-east-1']), C(osworld_subnet_id), ...); all problems found are
    listed at once.
  - "Input checks (no AWS call): V(common) (region name, name prefix, resource ids, extra tags),
    V(image_map) (the region and screen size have an AMI in O(image_id_map)), V(network_inputs)
    (CIDRs, the internal CIDR is private, the monitor port), V(fleet_inputs) (fleet name, VM
    count, TTL, instance type and key name spelling)."
  - "AWS checks (read-only): V(image) (the AMI exists and is available in the region; when it
    is not, other regions of the map and C(us-east-1) are searched and O(image_copy) or an
    C(aws ec2 copy-image) command is suggested; with O(image_copy) and no AMI for the region in the
    map, the stack's copy exists or the source AMI is available in O(image_source_region)), V(network) (an adopted subnet and VPC exist and belong together),
    V(instance_type) (offered in the subnet's zone, else in the region, where it also picks
    RV(subnet_zone)), V(key_pair) (exists when O(key_name) is set; with O(key_create), a missing
    one can be created without overwriting O(key_file), or O(key_public_file) is a public key), V(quota) (the on-demand vCPU
    quota minus what already runs, the fleet's own VMs aside, covers O(env_count) VMs, when O(env_count) > 0; skipped with
    a warning where Service Quotas does not answer)."
  - "Host checks, for the host machine that C(provision.yml) launches: V(host_inputs) (AMI id and
    instance type spelling, volume size, IAM name length, policy files) and V(host) (the host AMI is
    available in the region, the host type is offered in the subnet's zone, and with
    O(manage_iam=false) the roles an administrator made exist; with O(manage_iam=true) a role or
    instance profile of the stack's IAM names that exists carries the collection's tags for O(name_prefix))."
  - Each AWS check implies the input checks it reads; its calls on the happy path are listed in the notes.
  - A subnet or security group taken from the exported E(AWS_SUBNET_ID) or E(AWS_SECURITY_GROUP_ID)
    (the defaults of C(osworld_subnet_id) and C(osworld_security_group_id)) is named in RV(notices).
author: OSWorld AWS maintainers (@osworld-aws)
extends_documentation_fragment:
  - osworld.aws.connection
  - osworld.aws.connection.modules
  - osworld.aws.attributes
  - osworld.aws.attributes.READ_ONLY
options:
  checks:
    description:
      - The checks to run. V(common) always runs with any other.
      - Playbooks that only scale or delete VMs pass input checks only, so that they make no AWS call here.
      - Input checks alone run in the controller (the action plugin of the same name), without a module
        process, when the task runs on the controller; the result is the same.
    type: list
    elements: str
    choices: [common, image_map, network_inputs, fleet_inputs, host_inputs, image, network, instance_type, key_pair, quota, host]
    default: [common, image_map, network_inputs, fleet_inputs, host_inputs, image, network, instance_type, key_pair, quota, host]
  image_id_map:
    description:
      - The guide's IMAGE_ID_MAP (C(osworld_image_id_map)); region to an AMI id, or to a mapping of
        screen size to AMI id.
    type: dict
    default: {}
  screen_size:
    description: Picks the AMI within a region's mapping (C(osworld_screen_size)).
    type: str
    default: 1920x1080
  instance_type:
    description: The env VMs' instance type (C(osworld_instance_type)).
    type: str
    default: t3.medium
  key_name:
    description:
      - The env VMs' key pair (C(osworld_key_name)); not checked when empty.
      - With O(key_create), empty means C(osworld_key).
    type: str
  key_create:
    description: The key pair may be missing; it will be created (C(osworld_key_create)).
    type: bool
    default: false
  key_file:
    description: Where a created key pair's private key goes (C(osworld_key_file)); must not exist yet. Default C(~/.ssh/<key name>-<region>.pem).
    type: path
  key_public_file:
    description: A public key to import instead of creating a key pair (C(osworld_key_public_file)); must be an OpenSSH public key.
    type: path
  image_copy:
    description: A region the map lacks gets a copy of the AMI of O(image_source_region) (C(osworld_image_copy)).
    type: bool
    default: false
  image_source_region:
    description: The region whose AMI O(image_copy) copies (C(osworld_image_source_region)).
    type: str
    default: us-east-1
  vpc_id:
    description: An adopted VPC (C(osworld_vpc_id)).
    type: str
  subnet_id:
    description: An adopted subnet (C(osworld_subnet_id)); its zone is where the instance type must be offered.
    type: str
  security_group_id:
    description:
      - An env security group given explicitly (C(osworld_security_group_id)). The V(network) check
        reads it; it must exist and be in the VPC of O(subnet_id) (or O(vpc_id)).
    type: str
  vpc_cidr:
    description: CIDR of a dedicated VPC (C(osworld_vpc_cidr)); checked only when no network is adopted.
    type: str
    default: 172.31.0.0/16
  subnet_cidr:
    description: CIDR of the dedicated subnet (C(osworld_subnet_cidr)), inside O(vpc_cidr).
    type: str
    default: 172.31.0.0/20
  availability_zone:
    description: Zone of the dedicated subnet (C(osworld_availability_zone)).
    type: str
  internal_cidr:
    description:
      - Source of the VPC-internal ports (C(osworld_internal_cidr)); must be a private range because
        port 5000 runs commands without authentication. Empty means the VPC's CIDR.
    type: str
  admin_cidrs:
    description: Sources of SSH and noVNC (C(osworld_admin_cidrs)); the whole internet gives a warning.
    type: list
    elements: str
    default: ["0.0.0.0/0"]
  monitor_port:
    description: The host's monitor port (C(osworld_monitor_port)).
    type: int
    default: 8080
  name_prefix:
    description: The stack name (C(osworld_name_prefix)).
    type: str
    default: osworld
  fleet:
    description: The fleet name (C(osworld_fleet)); V(all) is reserved for teardown.
    type: str
    default: default
  env_count:
    description: VMs the fleet should have (C(osworld_env_count)), 0 to 1000.
    type: int
    default: 0
  ttl_minutes:
    description: The VMs' lifetime (C(osworld_ttl_minutes)); 0 or more.
    type: int
    default: 180
  extra_tags:
    description: Tags added to everything created (C(osworld_extra_tags)).
    type: dict
    default: {}
  host_launch:
    description: The host machine will be launched (C(osworld_host_launch)); the host checks of its AMI and type run only then.
    type: bool
    default: false
  host_instance_type:
    description: The host's instance type (C(osworld_host_instance_type)); must be offered in the subnet's zone.
    type: str
    default: t3.large
  host_ami:
    description: The host's AMI (C(osworld_host_ami)); must be available in the region.
    type: str
    default: ami-0a0e5d9c7acc336f1
  host_volume_size:
    description: The host's root volume in GiB (C(osworld_host_volume_size)), at least 8.
    type: int
    default: 50
  host_instance_profile:
    description: The host gets the IAM instance profile (C(osworld_host_instance_profile)).
    type: bool
    default: true
  host_policy_file:
    description: The host role's policy document (C(osworld_host_policy_file)); must exist when the collection manages IAM.
    type: path
  enable_ttl:
    description: The TTL scheduler role is wanted (C(osworld_enable_ttl)).
    type: bool
    default: false
  ttl_scheduler_policy_file:
    description: The TTL scheduler role's policy document (C(osworld_ttl_scheduler_policy_file)); must exist when the collection manages IAM.
    type: path
  host_ttl_minutes:
    description: The host's lifetime (C(osworld_host_ttl_minutes)), 1 or more; unset means it never expires.
    type: int
  manage_iam:
    description:
      - The collection creates the host and TTL scheduler roles (C(osworld_manage_iam)). With V(false) the
        V(host) check reads the roles an administrator made (C(iam:GetInstanceProfile), C(iam:GetRole)); a
        denied read is a warning, a missing role an error.
      - With V(true) the V(host) check reads the stack's role names and the host's instance profile name
        (C(iam:GetRole), C(iam:GetInstanceProfile)); one that exists without the collection's tags for
        O(name_prefix) is an error, since M(osworld.aws.host_iam) never changes or deletes it.
    type: bool
    default: true
notes:
  - Calls on the happy path, at most one each, only for the checks requested
    C(ec2:DescribeImages) (two with O(image_copy), for a region the map lacks, while the stack has no copy
    there yet; the stack's copy, then the source AMI in O(image_source_region)),
    C(ec2:DescribeSubnets) (or C(ec2:DescribeVpcs)) when a network is adopted,
    C(ec2:DescribeInstanceTypeOfferings), C(ec2:DescribeKeyPairs) when O(key_name) is set (or O(key_create)),
    C(servicequotas:GetServiceQuota) and C(ec2:DescribeInstances) when O(env_count) > 0, and C(ec2:DescribeInstanceTypes) too
    for a type whose vCPUs the collection does not list (it lists t3 and t3a nano to 2xlarge, and m5, m6i, c5, c6i, r5 and r6i
    large to 4xlarge),
    C(ec2:DescribeSecurityGroups) when O(security_group_id) is set; with O(host_launch), another
    C(ec2:DescribeImages) and C(ec2:DescribeInstanceTypeOfferings) for the host; for the host's
    IAM pieces, C(iam:GetRole) for each role and C(iam:GetInstanceProfile).
  - A missing permission is reported with the IAM action to grant.
"""

EXAMPLES = r"""
- name: Everything provision.yml needs
  osworld.aws.preflight:
    region: eu-west-1
    image_id_map:
      eu-west-1: {"1920x1080": ami-0123456789abcdef0}
    subnet_id: subnet-0123456789abcdef0
    admin_cidrs: [203.0.113.7/32]

- name: Input checks only (no AWS call), before scaling a fleet
  osworld.aws.preflight:
    checks: [common, image_map, fleet_inputs]
    region: us-east-1
    image_id_map: {us-east-1: ami-0d23263edb96951d8}
    env_count: 20
"""

RETURN = r"""
checks:
  description: The checks that ran (the requested ones and the input checks they imply).
  returned: always
  type: list
  elements: str
findings:
  description: Every error and warning, each with its check, level, variable and message.
  returned: always
  type: list
  elements: dict
  sample: [{"check": "network_inputs", "level": "warning", "variable": "osworld_admin_cidrs", "message": "..."}]
skipped_checks:
  description: Checks that did not run, with the reason (e.g. Service Quotas did not answer).
  returned: always
  type: list
  elements: dict
image_id:
  description: The AMI for the region and screen size.
  returned: when the image_map check ran and passed
  type: str
  sample: ami-0d23263edb96951d8
image_name:
  description: The AMI's name (with O(image_copy), the copy's or its source's).
  returned: when the image check found it
  type: str
image_copy_source:
  description: The C(region) and C(image_id) a copy would be made from.
  returned: with O(image_copy) when the map has no AMI for the region and screen size
  type: dict
image_copy_needed:
  description: No copy of the stack exists in the region yet; one will be made.
  returned: with O(image_copy) when no copy exists
  type: bool
image_copy_state:
  description: The state of the stack's copy found in the region (C(available), or C(pending) for a copy still being made); RV(image_id) is then the copy's.
  returned: with O(image_copy) when the map has no AMI for the region and screen size and the stack's copy exists
  type: str
  sample: available
key_pair_planned:
  description: The key pair that does not exist yet and will be created (or imported).
  returned: with O(key_create) when the key pair is missing
  type: str
availability_zone:
  description: The zone the VMs will launch in, when known (the adopted subnet's, or O(availability_zone)).
  returned: when known
  type: str
vpc_id:
  description: The VPC of O(subnet_id).
  returned: when the network check found O(subnet_id)
  type: str
  sample: vpc-0123456789abcdef0
subnet_cidr:
  description: The CIDR block of O(subnet_id).
  returned: when the network check found O(subnet_id)
  type: str
  sample: 172.31.0.0/20
subnet_zone:
  description:
    - The first zone, by name, that offers O(instance_type), for a dedicated subnet that does not exist yet.
    - Given no O(availability_zone), AWS would pick the zone itself, possibly one without the type (us-east-1e has no t3).
      The C(network) role creates the subnet there; an existing subnet keeps its zone.
  returned: when O(availability_zone), O(vpc_id) and O(subnet_id) are all unset and the instance_type check ran
  type: str
  sample: us-east-1a
vcpus_needed:
  description: The vCPUs that O(env_count) VMs of O(instance_type) need.
  returned: when the quota check ran with O(env_count) > 0 and was not skipped (see RV(skipped_checks))
  type: int
  sample: 20
vcpus_in_use:
  description: The vCPUs that pending and running instances of the quota's families already hold, the fleet's own VMs aside.
  returned: when the quota check ran with O(env_count) > 0 and was not skipped (see RV(skipped_checks))
  type: int
  sample: 8
vcpu_quota:
  description: The On-Demand vCPU quota of the type's families in the region.
  returned: when the quota check ran with O(env_count) > 0 and was not skipped (see RV(skipped_checks))
  type: int
  sample: 64
vcpus_available:
  description: RV(vcpu_quota) minus RV(vcpus_in_use), at least 0.
  returned: when the quota check ran with O(env_count) > 0 and was not skipped (see RV(skipped_checks))
  type: int
  sample: 56
host_root_device_name:
  description: The host AMI's root device, for the host's volume mapping.
  returned: when the host check ran with O(host_launch) and found the AMI
  type: str
  sample: /dev/sda1
host_expires_at:
  description: The C(osworld:expires-at) a host launched now gets (UTC ISO 8601).
  returned: when O(host_launch) and O(host_ttl_minutes) are set
  type: str
notices:
  description: What the run takes from the environment rather than from a variable (E(AWS_SUBNET_ID), E(AWS_SECURITY_GROUP_ID)).
  returned: always
  type: list
  elements: str
  sample: ["adopting subnet-0123456789abcdef0 from AWS_SUBNET_ID"]
"""

import os
from typing import Any

from ansible_collections.osworld.aws.plugins.module_utils._osworld.aws import AWS
from ansible_collections.osworld.aws.plugins.module_utils._osworld.checks import HOST
from ansible_collections.osworld.aws.plugins.module_utils._osworld.errors import OSWorldError
from ansible_collections.osworld.aws.plugins.module_utils._osworld.host_checks import check_host
from ansible_collections.osworld.aws.plugins.module_utils._osworld.module import OSWorldAWSModule
from ansible_collections.osworld.aws.plugins.module_utils._osworld.preflight import check_aws
from ansible_collections.osworld.aws.plugins.module_utils._osworld.preflight_run import check_preflight_inputs, preflight_argument_spec


def main() -> None:
    # The action plugin of the same name runs input-only checks in the controller; this module
    # runs when an AWS check is asked for (or the target is not the controller).
    module = OSWorldAWSModule(preflight_argument_spec(), supports_check_mode=True)
    try:
        run = check_preflight_inputs(module.params, os.environ)
    except OSWorldError as exc:
        module.module.fail_json(msg=exc.message, **exc.details)
        raise  # fail_json exits; this keeps the type checker informed
    if not run.needs_aws:
        exit_with(module, run.outcome())

    def run_aws(aws: AWS) -> dict[str, Any]:
        check_aws(aws, run.inputs, run.checks, run.report)
        if HOST in run.checks:
            check_host(aws, run.report, run.host, run.inputs.name_prefix, run.report.offered_zones)
        outcome = run.outcome()
        if outcome.pop("failed", False):
            for warning in outcome.pop("warnings"):
                module.warn(warning)
            raise OSWorldError(outcome.pop("msg"), **outcome)
        return outcome

    module.run(run_aws)


def exit_with(module: OSWorldAWSModule, outcome: dict[str, Any]) -> None:
    for warning in outcome.pop("warnings"):
        module.warn(warning)
    if outcome.pop("failed", False):
        module.module.fail_json(msg=outcome.pop("msg"), **outcome)
    module.module.exit_json(**outcome)


if __name__ == "__main__":
    main()
