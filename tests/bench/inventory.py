"""Benchmark: client CPU of `ansible-inventory --list` with osworld.aws.ec2, amazon.aws.aws_ec2 and bare boto3.

Run with `python -m tests.bench.inventory` (or `make bench`). It starts its own moto server,
fills one region with 2,000 instances (1,000 of them OSWorld's) and runs each lister in a
subprocess. CPU seconds are the children's user+sys time (getrusage(RUSAGE_CHILDREN) deltas
around each run); the emulator runs in its own process and is excluded. Peak RSS comes from
the same runs (wait4). Finally 1,000 more OSWorld VMs are added and osworld.aws.ec2 runs again,
to show how its memory grows with hosts.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.support.harness import ansible_env, ensure_collection_link  # noqa: E402
from tests.support.moto_server import FAKE_CREDENTIALS, MotoServer  # noqa: E402

REGION = "us-east-1"
AMI = "ami-0d23263edb96951d8"
BATCH = 500
VENV_BIN = Path(sys.executable).parent
MANAGED = {"osworld:managed-by": "osworld.aws"}

# Goals from the issue: at most 1/4 of amazon.aws's CPU, at most 2.5x the boto3 floor.
GOAL_VS_AMAZON = 0.25
GOAL_VS_FLOOR = 2.5

OURS_CONFIG = "plugin: osworld.aws.ec2\n"

# amazon.aws.aws_ec2 doing the same job: the tagged VMs, or those in the env security group.
AMAZON_CONFIG = """\
plugin: amazon.aws.aws_ec2
regions: [{region}]
hostnames: [instance-id]
include_filters:
  - tag:osworld:managed-by: osworld.aws
    instance-state-name: [pending, running]
  - instance.group-id: {env_sg}
    instance-state-name: [pending, running]
groups:
  osworld_envs: tags.get('osworld:role', 'env') == 'env'
  osworld_hosts: tags.get('osworld:role') == 'host'
keyed_groups:
  - key: tags['osworld:fleet'] | default(omit)
    prefix: fleet
  - key: placement.region
    prefix: region
compose:
  ansible_host: private_ip_address
  osworld_vnc_url: "'http://' ~ (public_ip_address | default('')) ~ ':5910/vnc.html'"
  osworld_backend_url: "'http://' ~ private_ip_address ~ ':5000'"
"""

# The floor: the same instances listed by boto3 alone, the two queries amazon.aws makes.
BOTO3_LISTING = """\
import sys, boto3
client = boto3.client("ec2", region_name=sys.argv[1])
states = {"Name": "instance-state-name", "Values": ["pending", "running"]}
seen = set()
for extra in ({"Name": "tag:osworld:managed-by", "Values": ["osworld.aws"]}, {"Name": "instance.group-id", "Values": [sys.argv[2]]}):
    pages = client.get_paginator("describe_instances").paginate(Filters=[states, extra], PaginationConfig={"PageSize": 1000})
    for instance in pages.search("Reservations[].Instances[]"):
        seen.add(instance["InstanceId"])
print(len(seen))
"""


@dataclass
class Measurement:
    name: str
    cpu_seconds: float
    peak_rss_mb: float
    hosts: int


@dataclass
class Account:
    vpc_id: str
    subnet_id: str
    env_sg: str
    host_sg: str
    other_sg: str


def ec2_client(url: str) -> Any:
    return boto3.client(
        "ec2",
        region_name=REGION,
        endpoint_url=url,
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def tags_spec(tags: dict[str, str]) -> list[dict[str, Any]]:
    return [{"ResourceType": "instance", "Tags": [{"Key": key, "Value": value} for key, value in tags.items()]}]


def launch(ec2: Any, count: int, **kwargs: Any) -> None:
    while count > 0:
        batch = min(count, BATCH)
        ec2.run_instances(ImageId=AMI, InstanceType="t3.medium", MinCount=batch, MaxCount=batch, **kwargs)
        count -= batch


def osworld_tags(role: str, fleet: str) -> dict[str, str]:
    return {
        **MANAGED,
        "osworld:role": role,
        "osworld:fleet": fleet,
        "osworld:expires-at": "2099-01-01T00:00:00Z",
        "Name": f"osworld-{fleet}-{role}",
    }


def create_account(ec2: Any) -> Account:
    """A provision.yml-like stack: dedicated VPC and subnet, env and host security groups."""
    vpc_id = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.20.0.0/18")["Subnet"]["SubnetId"]

    def group(name: str, component: str | None) -> str:
        tags = {**MANAGED, "osworld:stack": "osworld", "osworld:component": component} if component else {}
        spec = [{"ResourceType": "security-group", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}] if tags else []
        return str(ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc_id, TagSpecifications=spec)["GroupId"])

    return Account(
        vpc_id, subnet_id, group("osworld-env", "env-security-group"), group("osworld-host", "host-security-group"), group("team-b", None)
    )


def populate(ec2: Any, account: Account) -> None:
    """1,000 OSWorld VMs and 1,000 others."""
    env_launch = {"SubnetId": account.subnet_id, "SecurityGroupIds": [account.env_sg]}
    launch(ec2, 500, TagSpecifications=tags_spec(osworld_tags("env", "bench-a")), **env_launch)
    launch(ec2, 296, TagSpecifications=tags_spec(osworld_tags("env", "bench-b")), **env_launch)
    launch(ec2, 4, SubnetId=account.subnet_id, SecurityGroupIds=[account.host_sg], TagSpecifications=tags_spec(osworld_tags("host", "bench-a")))
    # The OSWorld client's own VMs: no tags, in the env security group. (They are launched with
    # SecurityGroupIds here rather than on the network interface, so that moto's `instance.group-id`
    # filter, which amazon.aws and the boto3 floor rely on, finds them too.)
    launch(ec2, 200, **env_launch)
    # Unrelated: the default VPC's instances, tagged and untagged, and another team's in the OSWorld VPC.
    launch(ec2, 500)
    launch(ec2, 400, TagSpecifications=tags_spec({"Name": "web", "team": "b", "osworld:role": "env"}))
    launch(ec2, 100, SubnetId=account.subnet_id, SecurityGroupIds=[account.other_sg])


def measure(
    name: str, command: Sequence[str], env: dict[str, str], count_hosts: Callable[[str], int], repeat: int, cwd: Path
) -> Measurement:
    cpu: list[float] = []
    rss: list[float] = []
    hosts = 0
    for _run in range(repeat):
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            process = subprocess.Popen(list(command), env=env, stdout=out, stderr=err, cwd=cwd)
            _pid, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            out.seek(0)
            err.seek(0)
            stdout = out.read().decode()
            if process.returncode != 0:
                raise RuntimeError(f"{name} failed ({process.returncode}): {err.read().decode()[-2000:]}")
        cpu.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
        rss.append(usage.ru_maxrss / 1024)
        hosts = count_hosts(stdout)
    return Measurement(name, statistics.median(cpu), statistics.median(rss), hosts)


def inventory_hosts(stdout: str) -> int:
    return len(json.loads(stdout).get("_meta", {}).get("hostvars", {}))


def run(repeat: int) -> tuple[list[Measurement], Measurement]:
    ensure_collection_link()
    with MotoServer() as server, tempfile.TemporaryDirectory() as workdir:
        ec2 = ec2_client(server.url)
        account = create_account(ec2)
        populate(ec2, account)
        work = Path(workdir)
        (work / "bench.osworld_ec2.yml").write_text(OURS_CONFIG)
        (work / "bench.aws_ec2.yml").write_text(AMAZON_CONFIG.format(region=REGION, env_sg=account.env_sg))
        # Each lister with only its own inventory plugin enabled.
        env = ansible_env(server.url, {"ANSIBLE_INVENTORY_ENABLED": "osworld.aws.ec2"})
        amazon_env = dict(env, ANSIBLE_INVENTORY_ENABLED="amazon.aws.aws_ec2", ANSIBLE_DEPRECATION_WARNINGS="false")
        inventory = str(VENV_BIN / "ansible-inventory")
        ours = [inventory, "-i", str(work / "bench.osworld_ec2.yml"), "--list"]
        amazon = [inventory, "-i", str(work / "bench.aws_ec2.yml"), "--list"]
        results = [
            measure("osworld.aws.ec2", ours, env, inventory_hosts, repeat, work),
            measure("amazon.aws.aws_ec2", amazon, amazon_env, inventory_hosts, repeat, work),
            measure(
                "boto3 listing (floor)",
                [sys.executable, "-c", BOTO3_LISTING, REGION, account.env_sg],
                env,
                lambda stdout: int(stdout.strip()),
                repeat,
                work,
            ),
        ]
        launch(
            ec2, 1000, SubnetId=account.subnet_id, SecurityGroupIds=[account.env_sg], TagSpecifications=tags_spec(osworld_tags("env", "bench-c"))
        )
        doubled = measure("osworld.aws.ec2, 2,000 hosts", ours, env, inventory_hosts, repeat, work)
    return results, doubled


def report(results: list[Measurement], doubled: Measurement) -> list[str]:
    ours, amazon, floor = results
    lines = [
        "inventory of 2,000 instances (1,000 OSWorld), client CPU (median of runs)",
        f"{'lister':<30} {'hosts':>6} {'CPU s':>7} {'peak RSS MB':>12}",
    ]
    for item in (*results, doubled):
        lines.append(f"{item.name:<30} {item.hosts:>6} {item.cpu_seconds:>7.2f} {item.peak_rss_mb:>12.1f}")
    vs_amazon = ours.cpu_seconds / amazon.cpu_seconds
    vs_floor = ours.cpu_seconds / floor.cpu_seconds
    per_host_kb = (doubled.peak_rss_mb - ours.peak_rss_mb) * 1024 / max(doubled.hosts - ours.hosts, 1)
    lines += [
        f"osworld.aws.ec2 / amazon.aws.aws_ec2 CPU: {vs_amazon:.2f} (goal <= {GOAL_VS_AMAZON:.2f}) {'ok' if vs_amazon <= GOAL_VS_AMAZON else 'MISSED'}",
        f"osworld.aws.ec2 / boto3 floor CPU:        {vs_floor:.2f} (goal <= {GOAL_VS_FLOOR:.2f}) {'ok' if vs_floor <= GOAL_VS_FLOOR else 'MISSED'}",
        f"osworld.aws.ec2 memory: +{per_host_kb:.1f} KB peak RSS per extra host (1,000 -> 2,000 hosts)",
    ]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.inventory", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per lister; the median is reported")
    args = parser.parse_args(argv)
    results, doubled = run(args.repeat)
    if any(item.hosts != 1000 for item in results):
        print("\n".join(report(results, doubled)))
        print("the listers disagree on the hosts: expected 1,000 each")
        return 1
    print("\n".join(report(results, doubled)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
