"""`make demo`: provision OSWorld on a local AWS emulator, show the result, clean up.

The emulator is used unless AWS_ENDPOINT_URL names another endpoint or OSWORLD_DEMO_USE_AWS=1
explicitly asks for the real AWS account of the current credentials.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import boto3  # noqa: E402

from tests.support.moto_server import FAKE_CREDENTIALS, MotoServer  # noqa: E402

BIN = Path(sys.executable).parent


def banner(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m", flush=True)


def run(command: list[str], env: dict[str, str], cwd: Path) -> None:
    print("$ " + " ".join(command), flush=True)
    subprocess.run(command, env=env, cwd=cwd, check=True)


def demo_env() -> tuple[dict[str, str], MotoServer | None]:
    env = dict(os.environ)
    env.update(
        {
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".venv" / "collections"),
            "ANSIBLE_DISPLAY_SKIPPED_HOSTS": "false",
            "ANSIBLE_DISPLAY_OK_HOSTS": "true",
            "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true",
        }
    )
    if env.get("AWS_ENDPOINT_URL") or env.get("OSWORLD_DEMO_USE_AWS") == "1":
        return env, None
    server = MotoServer()
    env.update(FAKE_CREDENTIALS)
    env.pop("AWS_PROFILE", None)
    env.update({"AWS_ENDPOINT_URL": server.url, "AWS_REGION": "us-east-1"})
    return env, server


def main() -> int:
    env, server = demo_env()
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="osworld-demo-") as workdir:
        cwd = Path(workdir)
        if server:
            banner(f"Starting the AWS emulator (moto) on {server.url}")
            stack.enter_context(server)
        else:
            banner(f"Using {env.get('AWS_ENDPOINT_URL') or 'real AWS'} in {env.get('AWS_REGION', 'us-east-1')}")
        playbooks = REPO / "playbooks"
        env_file = cwd / "osworld.env"
        try:
            banner("Provision: network, security groups, .env")
            run([str(BIN / "ansible-playbook"), str(playbooks / "provision.yml"), "-e", f"osworld_env_file={env_file}"], env, cwd)
            banner(f"The OSWorld .env ({env_file})")
            print(env_file.read_text(), flush=True)
            if (playbooks / "envs.yml").exists():
                banner("Launch a fleet of two OSWorld VMs")
                run([str(BIN / "ansible-playbook"), str(playbooks / "envs.yml"), "-e", "osworld_env_count=2"], env, cwd)
            if (REPO / "plugins" / "inventory" / "ec2.py").exists():
                banner("The dynamic inventory")
                run([str(BIN / "ansible-inventory"), "-i", str(REPO / "inventory" / "osworld_ec2.yml"), "--graph"], env, cwd)
        finally:
            banner("Teardown: VMs, security groups, network")
            run([str(BIN / "ansible-playbook"), str(playbooks / "teardown.yml"), "-e", "osworld_teardown_network=true"], env, cwd)
            left = leftovers(env)
    if left:
        banner(f"Left behind: {left}")
        return 1
    banner("Done: nothing tagged osworld:managed-by=osworld.aws is left (VMs, VPCs, groups)")
    return 0


def leftovers(env: dict[str, str]) -> list[str]:
    """What still carries the collection's tag after teardown, read back from the endpoint."""
    session = boto3.session.Session(
        aws_access_key_id=env.get("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY"),
        aws_session_token=env.get("AWS_SESSION_TOKEN"),
        profile_name=env.get("AWS_PROFILE"),
        region_name=env.get("AWS_REGION", "us-east-1"),
    )
    ec2 = session.client("ec2", endpoint_url=env.get("AWS_ENDPOINT_URL") or None)
    managed = [{"Name": "tag:osworld:managed-by", "Values": ["osworld.aws"]}]
    live = [{"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}]
    instances = ec2.describe_instances(Filters=managed + live)["Reservations"]
    return (
        [instance["InstanceId"] for reservation in instances for instance in reservation["Instances"]]
        + [vpc["VpcId"] for vpc in ec2.describe_vpcs(Filters=managed)["Vpcs"]]
        + [group["GroupId"] for group in ec2.describe_security_groups(Filters=managed)["SecurityGroups"]]
    )


if __name__ == "__main__":
    sys.exit(main())
