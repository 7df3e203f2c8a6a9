"""Benchmark: evaluate.yml's AWS calls per progress poll, whatever num_envs, and the controller
time for evaluate.yml to reach "started" on a host where OSWorld and its requirements are installed.

Run with `python -m tests.bench.evaluate` (or `make bench`). It starts its own moto server behind
the recording proxy, builds the tests' OSWorld-shaped checkout (OSWorld's real AWS provider, a
runner held before scoring), installs it with a first run, then:
- for each num_envs, starts a held run, waits for its VMs, and counts the AWS calls of one poll
  (`osworld.aws.eval_run state=present`, run ad hoc);
- times `evaluate.yml` from nothing to "started" for a new run id on the installed checkout: wall
  time, and controller CPU (user+sys of ansible-playbook and everything it ran, getrusage deltas).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.support.aws_proxy import AWSProxy  # noqa: E402
from tests.support.harness import ansible_env, ensure_collection_link  # noqa: E402
from tests.support.moto_server import FAKE_CREDENTIALS, MotoServer  # noqa: E402
from tests.support.osworld_checkout import make_checkout, make_installed_venv  # noqa: E402

REGION = "us-east-1"
VENV_BIN = Path(sys.executable).parent
GOAL_POLL_CALLS = 1
GOAL_START_SECONDS = 10.0


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def make_stack(url: str) -> dict[str, str]:
    import boto3  # pylint: disable=import-outside-toplevel

    ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=url, **{key.lower(): value for key, value in FAKE_CREDENTIALS.items()})
    vpc_id = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="172.31.250.0/24", AvailabilityZone=f"{REGION}a")["Subnet"]["SubnetId"]
    group_id = ec2.create_security_group(GroupName="osworld-env", Description="OSWorld env", VpcId=vpc_id)["GroupId"]
    return {"region": REGION, "subnet_id": subnet_id, "env_security_group_id": group_id, "scheduler_role_arn": ""}


class Bench:
    def __init__(self, proxy: AWSProxy, server_url: str, root: Path, stack: dict[str, str]) -> None:
        self.proxy = proxy
        self.server_url = server_url
        self.checkout = make_checkout(root / "OSWorld")
        # Two tasks per VM at the largest num_envs, so every worker holds a VM while polled.
        tasks = [f"task{index}" for index in range(32)]
        (self.checkout / "evaluation_examples" / "test_all.json").write_text(json.dumps({"chrome": tasks}))
        self.venv = make_installed_venv(root / "venv")
        self.stack = stack
        self.env = ansible_env(proxy.url, {"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.minimal"})

    def variables(self, run_id: str, num_envs: int) -> dict[str, Any]:
        return {
            "osworld_stack": self.stack,
            "osworld_eval_hosts": "localhost",
            "osworld_client_dir": str(self.checkout),
            "osworld_eval_venv": str(self.venv),
            "osworld_eval_model": "bench",
            "osworld_eval_num_envs": num_envs,
            "osworld_eval_run_id": run_id,
            "osworld_eval_wait": False,
        }

    def evaluate(self, run_id: str, num_envs: int, state: str = "started") -> float:
        """Wall seconds of one evaluate.yml run."""
        variables = {**self.variables(run_id, num_envs), "osworld_eval_state": state}
        start = time.monotonic()
        completed = subprocess.run(
            [str(VENV_BIN / "ansible-playbook"), str(REPO / "playbooks" / "evaluate.yml"), "-e", json.dumps(variables)],
            env=self.env, capture_output=True, text=True, check=False, cwd=self.checkout.parent,
        )  # fmt: skip
        if completed.returncode != 0:
            raise RuntimeError(completed.stdout[-3000:] + completed.stderr[-2000:])
        return time.monotonic() - start

    def poll_calls(self, run_id: str, num_envs: int) -> list[str]:
        home = self.checkout / ".osworld-aws"
        args = {
            "state": "present", "run_id": run_id, "region": REGION, "checkout": str(self.checkout), "state_root": str(home / "runs"),
            "venv": str(self.venv), "launcher_dir": str(home / "launcher"), "subnet_id": self.stack["subnet_id"],
            "security_group_id": self.stack["env_security_group_id"], "model": "bench", "num_envs": num_envs,
        }  # fmt: skip
        self.proxy.clear()
        completed = subprocess.run(
            [str(VENV_BIN / "ansible"), "localhost", "-m", "osworld.aws.eval_run", "-a", json.dumps(args)],
            env=self.env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if completed.returncode != 0:
            raise RuntimeError(completed.stdout[-3000:])
        return self.proxy.actions()

    def wait_for_vms(self, run_id: str, count: int, limit: float = 600) -> None:
        """Until every worker has allocated its VM and replaced it for its first task, then holds."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            states = self.vm_states(run_id)
            if len(states) == 2 * count and states.count("running") == count and self.quiet():
                return
            time.sleep(0.5)
        raise RuntimeError(f"{count} VMs of {run_id} did not come up")

    def quiet(self, seconds: float = 3.0) -> bool:
        """No AWS call from the held runner for a while: its workers wait on the hold file."""
        self.proxy.clear()
        time.sleep(seconds)
        return not self.proxy.actions()

    def vm_states(self, run_id: str) -> list[str]:
        import boto3  # pylint: disable=import-outside-toplevel

        ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=self.server_url, **{k.lower(): v for k, v in FAKE_CREDENTIALS.items()})
        pages = ec2.get_paginator("describe_instances").paginate(Filters=[{"Name": "tag:osworld:run", "Values": [run_id]}])
        return [item["State"]["Name"] for item in pages.search("Reservations[].Instances[]")]

    def stop(self, run_id: str) -> None:
        state_file = self.checkout / ".osworld-aws" / "runs" / run_id / "state.json"
        if state_file.exists():
            try:
                os.killpg(json.loads(state_file.read_text())["pid"], signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.evaluate(run_id, 1, state="absent")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-envs", type=int, nargs="+", default=[2, 8])
    options = parser.parse_args(argv)
    ensure_collection_link()
    ok = True
    with MotoServer() as server, tempfile.TemporaryDirectory() as tmp:
        proxy = AWSProxy(server.url).start()
        try:
            bench = Bench(proxy, server.url, Path(tmp), make_stack(server.url))
            (bench.checkout / "hold").touch()
            bench.evaluate("install", 1)  # the first run installs (virtualenv, requirements, launcher)
            bench.stop("install")
            for num_envs in options.num_envs:
                run_id = f"poll-{num_envs}"
                bench.evaluate(run_id, num_envs)
                bench.wait_for_vms(run_id, num_envs)
                calls = bench.poll_calls(run_id, num_envs)
                verdict = "ok" if len(calls) <= GOAL_POLL_CALLS else "MISSED"
                ok = ok and verdict == "ok"
                print(f"progress poll, num_envs={num_envs}: {len(calls)} AWS call(s) {calls} (goal <= {GOAL_POLL_CALLS}) {verdict}")
                bench.stop(run_id)
            cpu_before = children_cpu()
            wall = bench.evaluate("timed", 2)
            cpu = children_cpu() - cpu_before
            verdict = "ok" if cpu < GOAL_START_SECONDS else "MISSED"
            ok = ok and verdict == "ok"
            print(
                f'evaluate.yml to "started" on an installed host: {wall:.1f} s wall, {cpu:.1f} s controller CPU '
                f"(goal < {GOAL_START_SECONDS:.0f} s) {verdict}"
            )
            bench.stop("timed")
        finally:
            proxy.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
