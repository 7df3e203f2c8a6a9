#!/usr/bin/python
# Copyright: osworld.aws contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: eval_run
short_description: Start, watch and stop one OSWorld evaluation run on its host, and leave no VM of it running
version_added: 0.1.0
description:
  - Runs on the host that holds the OSWorld checkout (the host machine, or localhost). Used by the
    C(osworld.aws.evaluation) role and C(evaluate.yml).
  - O(state=started) with no run of that O(run_id) checks the inputs, that the subnet and env
    security group exist and that the On-Demand vCPU quota minus what already runs holds
    O(num_envs) VMs (skipped with a warning where Service Quotas does not answer); then it starts
    the runner detached, in its own process group, through the collection's launcher, which sets
    OSWorld's C(IMAGE_ID_MAP) and C(INSTANCE_TYPE) in every process of the run and tags each VM the
    runner launches with C(osworld:run=<run id>). A run still running is only reported
    (C(changed=false)); a run that has ended is cleaned up and reported, never started again.
  - O(state=present) polls the run (the results tree and one DescribeInstances); a run found
    ended is cleaned up.
  - O(state=absent) stops the run's process group, cleans up and forgets the run's state.
  - Cleaning up terminates every VM of the run (tagged with its id, or untagged in the env security
    group and launched after the run began), writes C(summary.json) in the result dir and a tarball
    of the results beside the run's state.
  - With O(wait), the action plugin polls every O(poll_interval) seconds, prints one progress line
    per poll, and stops the run when O(timeout) has passed since it started.
author: OSWorld AWS maintainers (@osworld-aws)
extends_documentation_fragment:
  - osworld.aws.connection
  - osworld.aws.connection.modules
  - osworld.aws.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: full
    details: A running run is reported, not started again; an ended run is cleaned up once.
options:
  state:
    description: V(started), V(present) (poll an existing run) or V(absent).
    type: str
    choices: [started, present, absent]
    default: started
  run_id:
    description: The run's id (C(osworld_eval_run_id)); empty derives C(<model>-<domain>-<UTC date>).
    type: str
    default: ""
  checkout:
    description: Absolute path of the OSWorld checkout; the runner starts there.
    type: path
    required: true
  state_root:
    description: Where runs keep their state (one directory per run id, mode 0700).
    type: path
    required: true
  venv:
    description:
      - The evaluation virtualenv (C(osworld_eval_venv)). O(state=started) creates it when missing
        and installs O(requirements) into it when that file's checksum differs from the one recorded
        at the last install.
    type: path
    required: true
  venv_python:
    description: The Python that creates O(venv) (C(osworld_eval_venv_python)).
    type: str
    default: python3
  requirements:
    description: The checkout's requirements file, relative to it (C(osworld_eval_requirements)).
    type: str
    default: requirements.txt
  launcher_dir:
    description: The directory that holds the collection's launcher and its C(sitecustomize.py) hook.
    type: path
    required: true
  launcher_files:
    description: The launcher's files (name to content), written to O(launcher_dir) when they differ.
    type: dict
    default: {}
  subnet_id:
    description: The .env's C(AWS_SUBNET_ID), where OSWorld launches its VMs.
    type: str
    required: true
  security_group_id:
    description: The .env's C(AWS_SECURITY_GROUP_ID), the env security group.
    type: str
    required: true
  model:
    description: C(--model) (C(osworld_eval_model)).
    type: str
    default: ""
  num_envs:
    description: C(--num_envs), the VMs the run uses at once (C(osworld_eval_num_envs)).
    type: int
    default: 1
  domain:
    description: C(--domain) (C(osworld_eval_domain)); V(all) for every domain of the meta file.
    type: str
    default: all
  test_meta:
    description: C(--test_all_meta_path), relative to the checkout (C(osworld_eval_test_meta)).
    type: str
    default: evaluation_examples/test_all.json
  result_dir:
    description: C(--result_dir) (C(osworld_eval_result_dir)); empty is C(results/<run id>) in the checkout.
    type: str
    default: ""
  max_steps:
    description: C(--max_steps) (C(osworld_eval_max_steps)).
    type: int
    default: 15
  action_space:
    description: C(--action_space) (C(osworld_eval_action_space)).
    type: str
    default: pyautogui
  observation_type:
    description: C(--observation_type) (C(osworld_eval_observation_type)).
    type: str
    default: screenshot
  script:
    description: The runner script, relative to the checkout (C(osworld_eval_script)).
    type: str
    default: scripts/python/run_multienv.py
  args:
    description: More arguments for the runner (C(osworld_eval_args)).
    type: list
    elements: str
    default: []
  env:
    description:
      - Environment variables for the runner, such as model API keys (C(osworld_eval_env)).
      - Written to a 0600 file the launcher reads, removed when the run is cleaned up; never logged.
      - A variable with an empty value is left out.
    type: dict
    default: {}
  image_id_map:
    description: C(osworld_image_id_map); region to an AMI, or to screen size to AMI.
    type: dict
    default: {}
  screen_size:
    description: C(osworld_screen_size); a plain AMI in O(image_id_map) is this size's.
    type: str
    default: 1920x1080
  instance_type:
    description: OSWorld's C(INSTANCE_TYPE) for the run (C(osworld_instance_type)).
    type: str
    default: t3.medium
  ttl_minutes:
    description: Each VM's C(osworld:expires-at) after its launch, for C(reap.yml).
    type: int
    default: 180
  name_prefix:
    description: The VMs' Name is C(<name_prefix>-eval-<run id>).
    type: str
    default: osworld
  extra_tags:
    description: Tags added to the run's VMs.
    type: dict
    default: {}
  wait:
    description: Poll until the run ends (action plugin).
    type: bool
    default: false
  timeout:
    description: With O(wait), seconds after the run's start when it is stopped.
    type: int
    default: 86400
  poll_interval:
    description: With O(wait), seconds between polls.
    type: float
    default: 60
  stop_reason:
    description: The C(outcome) recorded when O(state=absent) stops a running run.
    type: str
    choices: [stopped, timed out]
    default: stopped
"""

EXAMPLES = r"""
- name: Start a run of o3 on the chrome domain and wait for its score
  osworld.aws.eval_run:
    region: eu-west-1
    checkout: /home/ubuntu/OSWorld
    state_root: /home/ubuntu/OSWorld/.osworld-aws/runs
    venv: /home/ubuntu/OSWorld/.osworld-aws/venv
    launcher_dir: /home/ubuntu/OSWorld/.osworld-aws/launcher
    launcher_files:
      sitecustomize.py: "{{ lookup('ansible.builtin.file', 'launcher/sitecustomize.py') }}"
      osworld_eval_launch.py: "{{ lookup('ansible.builtin.file', 'launcher/osworld_eval_launch.py') }}"
    subnet_id: subnet-0123456789abcdef0
    security_group_id: sg-0123456789abcdef0
    model: o3
    num_envs: 20
    domain: chrome
    image_id_map: {eu-west-1: {"1920x1080": ami-0123456789abcdef0}}
    env:
      OPENAI_API_KEY: "{{ vault_openai_api_key }}"
    wait: true
    poll_interval: 60
    timeout: 21600
  register: run

- name: Stop it
  osworld.aws.eval_run:
    state: absent
    run_id: "{{ run.run_id }}"
    checkout: /home/ubuntu/OSWorld
    state_root: /home/ubuntu/OSWorld/.osworld-aws/runs
    venv: /home/ubuntu/OSWorld/.osworld-aws/venv
    launcher_dir: /home/ubuntu/OSWorld/.osworld-aws/launcher
    subnet_id: subnet-0123456789abcdef0
    security_group_id: sg-0123456789abcdef0
"""

RETURN = r"""
run_id:
  description: The run's id.
  returned: always
  type: str
running:
  description: Whether the runner is still running.
  returned: always
  type: bool
progress:
  description: The last progress line (C(37/120 tasks done (chrome 12/46, gimp 25/74), 20 VMs running, 41 min elapsed)).
  returned: always
  type: str
progress_lines:
  description: Every line printed while waiting.
  returned: with O(wait)
  type: list
  elements: str
summary:
  description:
    - The run's summary.json once it has ended, else null; C(run_id), C(planned), C(finished),
      C(success_rate) (mean score of the finished tasks, 0..1), C(unscored), C(vms_terminated),
      C(vm_hours), C(estimated_cost_usd) (approximate), C(domains), C(outcome) (finished, failed,
      died, stopped or timed out).
  returned: always
  type: dict
outcome:
  description: How the run ended.
  returned: when it has ended
  type: str
result_dir:
  description: The run's result dir on the host.
  returned: always
  type: str
summary_file:
  description: Path of summary.json on the host.
  returned: always
  type: str
archive:
  description: Path of the results tarball on the host (written when the run ends).
  returned: always
  type: str
state_dir:
  description: The run's state directory on the host.
  returned: always
  type: str
pid:
  description: The runner's process id (its process group's id too).
  returned: when a run is known
  type: int
message:
  description: One line on the run, its score once it has ended, else its progress.
  returned: always
  type: str
installed:
  description: What starting the run installed first (V(virtualenv), V(requirements), V(launcher)).
  returned: when a run starts
  type: list
  elements: str
"""

import os
from typing import Any

from ansible_collections.osworld.aws.plugins.module_utils._osworld.aws import AWS
from ansible_collections.osworld.aws.plugins.module_utils._osworld.eval_runs import RunSpec
from ansible_collections.osworld.aws.plugins.module_utils._osworld.evaluation import ensure_run, utc_now
from ansible_collections.osworld.aws.plugins.module_utils._osworld.module import OSWorldAWSModule


def main() -> None:
    module = OSWorldAWSModule(RunSpec, supports_check_mode=True)

    def run(aws: AWS) -> dict[str, Any]:
        spec = module.options(RunSpec, region=aws.region, endpoint_url=module.params["endpoint_url"] or None).with_run_id(utc_now())
        return ensure_run(aws, spec, spec.state, module.check_mode, dict(os.environ), stop_reason=spec.stop_reason)

    module.run(run)


if __name__ == "__main__":
    main()
