#!/usr/bin/python
# Copyright: osworld.aws contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: fleet
short_description: Exactly N OSWorld env VMs in a fleet, launched the way OSWorld's client does
version_added: 0.1.0
description:
  - Makes fleet O(fleet) have exactly O(count) VMs. Members are the VMs of the region tagged
    C(osworld:managed-by=osworld.aws), C(osworld:role=env) and C(osworld:fleet=<fleet>) in state
    pending, running, stopping or stopped; VMs of other fleets and untagged VMs are never touched.
  - Scales up with one RunInstances call for the whole missing count (batches of 1,000), every VM
    tagged by the call itself (TagSpecifications), so a run killed at any point leaves nothing a
    re-run cannot count. The ClientToken is derived from the fleet, the region, the members found
    and the missing count, so a retried launch replays instead of launching twice; a token whose
    earlier launch was terminated since is detected and salted.
  - After a launch the fleet is counted again by its tags, and a surplus left by an interrupted
    earlier run is terminated, so the result is exact.
  - Scales down by terminating first the VMs past their expiry, then stopped ones, then the newest;
    one TerminateInstances per 1,000 VMs. O(count=0) or O(state=absent) tears the fleet down, and
    O(fleet=all) with it tears down every env VM the collection launched in the region.
  - Each VM gets the AMI of O(image_id_map) for the region and O(screen_size), O(instance_type),
    O(key_name), a public IP on its primary interface in the env security group, a 30 GB gp3 root
    volume at 4,000 IOPS and 1,000 MB/s, EBS optimisation and C(InstanceInitiatedShutdownBehavior=terminate)
    (a VM that shuts itself down stops costing money).
  - New VMs go into the subnet and env security group of O(stack) (or O(subnet_id) and
    O(security_group_id)) and record the stack as C(osworld:stack) and in their C(Name);
    O(extra_tags) go on the VMs, their volumes and interfaces.
  - A run at the right count makes a single DescribeInstances call; with O(wait), members still pending (left by an
    earlier run with O(wait=false)) are waited for, one DescribeInstances per poll. The network lookup and the
    launch checks happen only when VMs must be launched, before RunInstances and in one report that
    names the variable to fix (the subnet and the env security group exist and share a VPC, the
    instance type is offered in the subnet's zone, the key pair and the AMI exist, the fleet's count
    fits the On-Demand vCPU quota minus what else runs, with a warning where Service Quotas does not answer).
author: OSWorld AWS maintainers (@osworld-aws)
extends_documentation_fragment:
  - osworld.aws.connection
  - osworld.aws.connection.modules
  - osworld.aws.stack
  - osworld.aws.stack.tags
  - osworld.aws.attributes
  - osworld.aws.attributes.ALL
options:
  fleet:
    description:
      - Name of the fleet (the tag C(osworld:fleet)); letters, digits, C(-), C(_) and C(.).
      - C(all) stands for every fleet of the region and is only accepted with O(count=0) or O(state=absent).
    type: str
    default: default
  count:
    description: Number of VMs the fleet should have. Required with O(state=present).
    type: int
  state:
    description: C(absent) is O(count=0).
    type: str
    choices: [present, absent]
    default: present
  subnet_id:
    description: Launch into this subnet instead of the stack's.
    type: str
  security_group_id:
    description: Launch into this security group instead of the stack's env group.
    type: str
  image_id_map:
    description:
      - The guide's IMAGE_ID_MAP, region to AMI id, or region to a dict of screen size to AMI id.
    type: dict
    default: {us-east-1: {"1920x1080": ami-0d23263edb96951d8}}
  screen_size:
    description: Picks the AMI within the region's entry of O(image_id_map) when that entry is a dict.
    type: str
    default: "1920x1080"
  instance_type:
    description: The EC2 instance type (the guide's INSTANCE_TYPE).
    type: str
    default: t3.medium
  key_name:
    description: Name of an EC2 key pair for SSH (the guide's KEY_NAME); checked before launching.
    type: str
  ttl_minutes:
    description:
      - Lifetime of each new VM; recorded as C(osworld:expires-at) (UTC) for M(osworld.aws.reap).
      - C(0) means due at once.
    type: int
    default: 180
  wait:
    description: Wait until new VMs are running (and removed ones terminated).
    type: bool
    default: true
  wait_timeout:
    description: Longest wait for O(wait), in seconds.
    type: int
    default: 600
  wait_for_backend:
    description:
      - Also wait until the OSWorld backend of every running VM answers C(GET http://<private ip>:5000/platform).
      - Port 5000 is open to the VPC only, so the playbook must run inside it (on the host machine).
    type: bool
    default: false
  backend_timeout:
    description: Longest wait for O(wait_for_backend), in seconds.
    type: int
    default: 600
notes:
  - Fleet names are per region; C(osworld:stack) only records which network a VM was launched into.
  - Two runs for the same fleet started together send the same ClientToken. AWS answers the second
    with the first launch (same parameters) or with C(IdempotentParameterMismatch) (another expiry
    or other tags); on a mismatch the fleet is listed again and, when another run launched the
    batch, the run plans again from the fleet as it is instead of launching more, so both end at
    O(count).
"""

EXAMPLES = r"""
- name: Ten OSWorld VMs in fleet "eval"
  osworld.aws.fleet:
    fleet: eval
    count: 10
    ttl_minutes: 240
  register: fleet

- name: Show where to watch them
  ansible.builtin.debug:
    msg: "{{ fleet.instances | map(attribute='vnc_url') | list }}"

- name: Tear the fleet down
  osworld.aws.fleet:
    fleet: eval
    state: absent

- name: Tear down every env VM the collection launched in the region
  osworld.aws.fleet:
    fleet: all
    state: absent
"""

RETURN = r"""
fleet:
  description: The fleet.
  returned: always
  type: str
  sample: default
count:
  description: Number of VMs in the fleet after the run (in check mode, after the run that would happen).
  returned: always
  type: int
  sample: 5
instances:
  description: The fleet's VMs after the run, sorted by instance id (in check mode, the existing ones that stay).
  returned: always
  type: list
  elements: dict
  contains:
    instance_id:
      description: The instance id.
      type: str
      sample: i-0123456789abcdef0
    state:
      description: The instance state.
      type: str
      sample: running
    private_ip:
      description: Private IP address; the OSWorld client reaches VMs by it.
      type: str
    public_ip:
      description: Public IP address.
      type: str
    vnc_url:
      description: noVNC in a browser, C(http://<public ip>:5910/vnc.html).
      type: str
    backend_url:
      description: The OSWorld backend, C(http://<private ip>:5000).
      type: str
    expires_at:
      description: The VM's C(osworld:expires-at) (UTC ISO 8601).
      type: str
    launch_time:
      description: When the VM was launched (UTC ISO 8601).
      type: str
    fleet:
      description: The VM's fleet.
      type: str
    stack:
      description: The stack whose network the VM was launched into.
      type: str
    instance_type:
      description: The instance type.
      type: str
    image_id:
      description: The AMI.
      type: str
    subnet_id:
      description: The subnet.
      type: str
launched:
  description: Ids of the VMs launched by this run.
  returned: always
  type: list
  elements: str
terminated:
  description: Ids of the VMs terminated by this run (in check mode, those that would be).
  returned: always
  type: list
  elements: str
planned:
  description: What the run found to do, C(launch) (a number) and C(terminate) (ids), before doing it.
  returned: always
  type: dict
"""

from ansible_collections.osworld.aws.plugins.module_utils._osworld.fleet import FleetSpec, ensure_fleet
from ansible_collections.osworld.aws.plugins.module_utils._osworld.module import OSWorldAWSModule


def main() -> None:
    module = OSWorldAWSModule(FleetSpec, supports_check_mode=True, required_if=[("state", "present", ["count"])])
    spec = module.options(FleetSpec, count=0 if module.params["state"] == "absent" else module.params["count"])
    module.run(lambda aws: ensure_fleet(aws, spec, module.check_mode))


if __name__ == "__main__":
    main()
