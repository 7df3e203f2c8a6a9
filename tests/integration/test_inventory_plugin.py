"""The osworld.aws.ec2 inventory plugin end to end: `ansible-inventory` against moto.

Instances are launched with boto3 straight to moto; ansible goes through the recording proxy,
so `aws.proxy.actions()` holds exactly the calls the inventory made.
"""
from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.support.aws_proxy import FaultPlan
from tests.support.harness import REPO, VENV_BIN, AWSHarness, ansible_env
from tests.support.moto_server import MotoServer, free_port

AMI = "ami-0d23263edb96951d8"
MANAGED = {"osworld:managed-by": "osworld.aws"}
EXPIRES = "2030-01-01T00:00:00Z"
CONFIG = "plugin: osworld.aws.ec2\n"


@dataclass
class Stack:
    vpc_id: str
    subnet_id: str
    env_sg: str
    host_sg: str
    other_sg: str
    ids: dict[str, str]

    def id_of(self, name: str) -> str:
        return self.ids[name]

    def name_of(self, instance_id: str) -> str:
        return {value: key for key, value in self.ids.items()}[instance_id]


def tag_spec(resource: str, tags: dict[str, str]) -> list[dict[str, Any]]:
    return [{"ResourceType": resource, "Tags": [{"Key": key, "Value": value} for key, value in tags.items()]}]


def vm_tags(role: str, fleet: str) -> dict[str, str]:
    return {**MANAGED, "osworld:role": role, "osworld:fleet": fleet, "osworld:expires-at": EXPIRES}


def launch(ec2: Any, tags: dict[str, str] | None = None, **kwargs: Any) -> str:
    spec = tag_spec("instance", tags) if tags else []
    reservation = ec2.run_instances(ImageId=AMI, InstanceType="t3.medium", MinCount=1, MaxCount=1, TagSpecifications=spec, **kwargs)
    return str(reservation["Instances"][0]["InstanceId"])


def launch_like_osworld_client(ec2: Any, subnet_id: str, group_id: str) -> str:
    """What OSWorld's own client does: security group on the network interface, public IP, no tags."""
    interface = {"DeviceIndex": 0, "SubnetId": subnet_id, "Groups": [group_id], "AssociatePublicIpAddress": True}
    return launch(ec2, NetworkInterfaces=[interface])


def create_stack(ec2: Any, cidr: str = "10.40.0.0/16") -> Stack:
    """What provision.yml leaves behind: a dedicated VPC and subnet, the tagged security groups."""
    vpc_id = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr.replace("/16", "/20"))["Subnet"]["SubnetId"]

    def group(name: str, component: str | None) -> str:
        tags = {**MANAGED, "osworld:stack": "osworld", "osworld:component": component} if component else {}
        spec = tag_spec("security-group", tags) if tags else []
        return str(ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc_id, TagSpecifications=spec)["GroupId"])

    return Stack(
        vpc_id, subnet_id, group("osworld-env", "env-security-group"), group("osworld-host", "host-security-group"), group("team-b", None), {}
    )


def populate(ec2: Any, stack: Stack) -> Stack:
    """A fleet, a host, the client's own VM, and unrelated instances around them."""
    in_env = {"SubnetId": stack.subnet_id, "SecurityGroupIds": [stack.env_sg]}
    ids = stack.ids
    ids["alpha-1"] = launch(ec2, vm_tags("env", "alpha"), **in_env)
    ids["alpha-2"] = launch(ec2, vm_tags("env", "alpha"), **in_env)
    ids["beta-1"] = launch(ec2, vm_tags("env", "beta-2"), **in_env)
    ids["host"] = launch(ec2, vm_tags("host", "alpha"), SubnetId=stack.subnet_id, SecurityGroupIds=[stack.host_sg])
    ids["client"] = launch_like_osworld_client(ec2, stack.subnet_id, stack.env_sg)
    ids["tagged-in-default-vpc"] = launch(ec2, vm_tags("env", "gamma"))
    # Not OSWorld's:
    ids["other-team"] = launch(ec2, SubnetId=stack.subnet_id, SecurityGroupIds=[stack.other_sg])
    ids["other-team-client-way"] = launch_like_osworld_client(ec2, stack.subnet_id, stack.other_sg)
    ids["default-vpc"] = launch(ec2)
    ids["other-tags-in-env-sg"] = launch(ec2, {"osworld:role": "env", "osworld:fleet": "alpha"}, **in_env)
    ids["managed-by-other"] = launch(ec2, {"osworld:managed-by": "someone-else", "osworld:role": "env"}, **in_env)
    ids["stopped"] = launch(ec2, vm_tags("env", "alpha"), **in_env)
    ec2.stop_instances(InstanceIds=[ids["stopped"]])
    ids["terminated"] = launch(ec2, vm_tags("env", "alpha"), **in_env)
    ec2.terminate_instances(InstanceIds=[ids["terminated"]])
    return stack


OSWORLD = {"alpha-1", "alpha-2", "beta-1", "host", "client", "tagged-in-default-vpc"}


def trusted(value: Any) -> Any:
    """ansible-core 2.19 marks strings from inventory plugins as unsafe in --list output."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {key: trusted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [trusted(item) for item in value]
    return value


@dataclass
class Listing:
    hostvars: dict[str, dict[str, Any]]
    groups: dict[str, set[str]]


def write_config(directory: Path, text: str, name: str = "osworld_ec2.yml") -> Path:
    path = directory / name
    path.write_text(text)
    return path


def ansible_inventory(
    aws: AWSHarness, source: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    command = [str(VENV_BIN / "ansible-inventory"), "-i", str(source), *(args or ("--list",))]
    return subprocess.run(command, cwd=aws.workdir, env=aws.env(env), capture_output=True, text=True, timeout=300, check=False)


def listing(aws: AWSHarness, source: Path, env: dict[str, str] | None = None) -> Listing:
    completed = ansible_inventory(aws, source, env=env)
    assert completed.returncode == 0, completed.stderr
    data = trusted(json.loads(completed.stdout))
    groups = {name: set(body.get("hosts", ())) for name, body in data.items() if name not in ("_meta", "all")}
    return Listing(data["_meta"]["hostvars"], {name: hosts for name, hosts in groups.items() if hosts})


def readable(stack: Stack, groups: dict[str, set[str]]) -> dict[str, set[str]]:
    return {group: {stack.name_of(host) for host in hosts} for group, hosts in groups.items()}


@pytest.fixture
def stack(aws: AWSHarness) -> Stack:
    return populate(aws.client("ec2"), create_stack(aws.client("ec2")))


def test_lists_every_osworld_vm_and_nothing_else(aws: AWSHarness, stack: Stack) -> None:
    result = listing(aws, write_config(aws.workdir, CONFIG))

    assert {stack.name_of(host) for host in result.hostvars} == OSWORLD
    assert readable(stack, result.groups) == {
        "osworld_envs": {"alpha-1", "alpha-2", "beta-1", "client", "tagged-in-default-vpc"},
        "osworld_hosts": {"host"},
        "fleet_alpha": {"alpha-1", "alpha-2", "host"},
        "fleet_beta_2": {"beta-1"},
        "fleet_gamma": {"tagged-in-default-vpc"},
        "region_us_east_1": OSWORLD,
    }
    assert aws.proxy.actions() == ["DescribeSecurityGroups", "DescribeInstances", "DescribeVpcs", "DescribeInstances"]


def test_host_variables(aws: AWSHarness, stack: Stack) -> None:
    ec2 = aws.client("ec2")
    described = {
        item["InstanceId"]: item
        for reservation in ec2.describe_instances(InstanceIds=[stack.id_of("client"), stack.id_of("alpha-1")])["Reservations"]
        for item in reservation["Instances"]
    }
    client, fleet_vm = described[stack.id_of("client")], described[stack.id_of("alpha-1")]

    result = listing(aws, write_config(aws.workdir, CONFIG))

    client_vars = result.hostvars[stack.id_of("client")]
    assert client["SecurityGroups"] == []  # moto, like the client's launch: groups only on the interface
    assert client_vars["osworld_instance_id"] == stack.id_of("client")
    assert client_vars["osworld_private_ip"] == client["PrivateIpAddress"]
    assert client_vars["osworld_public_ip"] == client["PublicIpAddress"]
    assert client_vars["osworld_vnc_url"] == f"http://{client['PublicIpAddress']}:5910/vnc.html"
    assert client_vars["osworld_backend_url"] == f"http://{client['PrivateIpAddress']}:5000"
    assert client_vars["ansible_host"] == client["PrivateIpAddress"]
    assert client_vars["osworld_fleet"] is None
    assert client_vars["osworld_expires_at"] is None
    assert client_vars["osworld_launched_by"] == "osworld-client"
    assert client_vars["osworld_launch_time"] == client["LaunchTime"].strftime("%Y-%m-%dT%H:%M:%SZ")

    fleet_vars = result.hostvars[stack.id_of("alpha-1")]
    assert fleet_vars["osworld_fleet"] == "alpha"
    assert fleet_vars["osworld_expires_at"] == EXPIRES
    assert fleet_vars["osworld_role"] == "env"
    assert fleet_vars["osworld_region"] == "us-east-1"
    assert fleet_vars["osworld_state"] == "running"
    assert fleet_vars["osworld_launched_by"] == "osworld.aws"
    assert fleet_vars["ansible_host"] == fleet_vm["PrivateIpAddress"]
    assert fleet_vars["osworld_backend_url"] == f"http://{fleet_vm['PrivateIpAddress']}:5000"


def test_shipped_inventory_and_group_vars(aws: AWSHarness, stack: Stack) -> None:
    shipped = REPO / "inventory" / "osworld_ec2.yml"

    completed = ansible_inventory(aws, shipped, "--host", stack.id_of("client"))
    assert completed.returncode == 0, completed.stderr
    assert trusted(json.loads(completed.stdout))["ansible_user"] == "user"

    hosts = subprocess.run(
        [str(VENV_BIN / "ansible"), "-i", str(shipped), "osworld_envs", "--list-hosts"],
        cwd=aws.workdir,
        env=aws.env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert hosts.returncode == 0, hosts.stderr
    listed = {line.strip() for line in hosts.stdout.splitlines()[1:] if line.strip()}
    assert {stack.name_of(host) for host in listed} == {"alpha-1", "alpha-2", "beta-1", "client", "tagged-in-default-vpc"}


def test_public_ip_and_constructed_options(aws: AWSHarness, stack: Stack) -> None:
    config = (
        CONFIG
        + "use_public_ip: true\n"
        + "compose:\n  owner_team: osworld_tags.get('osworld:fleet', 'none') ~ '-' ~ osworld_role\n"
        + "groups:\n  with_public_ip: osworld_public_ip is not none\n"
        + "keyed_groups:\n  - key: osworld_instance_type\n    prefix: type\n"
    )

    result = listing(aws, write_config(aws.workdir, config))

    client = result.hostvars[stack.id_of("client")]
    assert client["ansible_host"] == client["osworld_public_ip"]
    assert client["owner_team"] == "none-env"
    assert result.hostvars[stack.id_of("host")]["owner_team"] == "alpha-host"
    assert readable(stack, result.groups)["with_public_ip"] == {"client", "tagged-in-default-vpc"}
    assert readable(stack, result.groups)["type_t3_medium"] == OSWORLD
    assert "osworld_tags" not in client  # a template-only detail unless composed


def test_instance_states_option(aws: AWSHarness, stack: Stack) -> None:
    result = listing(aws, write_config(aws.workdir, CONFIG + "instance_states: [running, stopped]\n"))

    assert {stack.name_of(host) for host in result.hostvars} == OSWORLD | {"stopped"}
    assert result.hostvars[stack.id_of("stopped")]["osworld_state"] == "stopped"


def test_env_security_group_named_in_config_or_by_osworld_env_file(aws: AWSHarness, stack: Stack) -> None:
    expected = OSWORLD | {"other-team", "other-team-client-way"}

    by_option = listing(aws, write_config(aws.workdir, CONFIG + f"env_security_group_ids: [{stack.other_sg}]\n"))
    by_env = listing(aws, write_config(aws.workdir, CONFIG), env={"AWS_SECURITY_GROUP_ID": stack.other_sg})

    assert {stack.name_of(host) for host in by_option.hostvars} == expected
    assert {stack.name_of(host) for host in by_env.hostvars} == expected
    assert stack.name_of(next(iter(by_env.groups["osworld_envs"] & {stack.id_of("other-team-client-way")}))) == (
        "other-team-client-way"
    )


def test_without_env_security_group_lists_the_tagged_vms(aws: AWSHarness) -> None:
    ec2 = aws.client("ec2")
    tagged = launch(ec2, vm_tags("env", "solo"))
    default_group = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["default"]}])["SecurityGroups"][0]
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    launch_like_osworld_client(ec2, subnet, default_group["GroupId"])

    result = listing(aws, write_config(aws.workdir, CONFIG))

    assert set(result.hostvars) == {tagged}
    assert aws.proxy.actions() == ["DescribeSecurityGroups", "DescribeInstances"]


def test_two_regions_are_listed_together(aws: AWSHarness, stack: Stack) -> None:
    west = aws.client("ec2", region="eu-west-1")
    west_stack = create_stack(west, "10.50.0.0/16")
    west_fleet = launch(west, vm_tags("env", "alpha"), SubnetId=west_stack.subnet_id, SecurityGroupIds=[west_stack.env_sg])
    west_client = launch_like_osworld_client(west, west_stack.subnet_id, west_stack.env_sg)
    launch(west)

    both = listing(aws, write_config(aws.workdir, CONFIG + "regions: [us-east-1, eu-west-1]\n"))

    assert set(both.hostvars) == {stack.id_of(name) for name in OSWORLD} | {west_fleet, west_client}
    assert both.groups["region_eu_west_1"] == {west_fleet, west_client}
    assert both.groups["region_us_east_1"] == {stack.id_of(name) for name in OSWORLD}
    assert {west_fleet, stack.id_of("alpha-1")} <= both.groups["fleet_alpha"]
    assert {west_fleet, west_client} <= both.groups["osworld_envs"]
    assert both.hostvars[west_client]["osworld_region"] == "eu-west-1"
    regions = {call.region for call in aws.proxy.calls if call.action == "DescribeInstances"}
    assert regions == {"us-east-1", "eu-west-1"}

    aws.proxy.clear()
    # AWS_REGION wins over AWS_DEFAULT_REGION, as in the modules and botocore.
    only_west = listing(aws, write_config(aws.workdir, CONFIG, "west.osworld_ec2.yml"), env={"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-east-1"})
    assert set(only_west.hostvars) == {west_fleet, west_client}
    assert {call.region for call in aws.proxy.calls} == {"eu-west-1"}


def test_osworld_region_variable_picks_the_region(aws: AWSHarness, stack: Stack) -> None:
    west = aws.client("ec2", region="eu-west-1")
    west_vm = launch(west, vm_tags("env", "alpha"))
    source = write_config(aws.workdir, CONFIG)

    completed = ansible_inventory(aws, source, "--list", "-e", "osworld_region=eu-west-1")

    assert completed.returncode == 0, completed.stderr
    assert set(trusted(json.loads(completed.stdout))["_meta"]["hostvars"]) == {west_vm}


def test_cache_hit_makes_no_api_call(aws: AWSHarness, stack: Stack) -> None:
    cache_dir = aws.workdir / "cache"
    config = CONFIG + f"cache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: {cache_dir}\ncache_timeout: 3600\n"
    source = write_config(aws.workdir, config)

    first = listing(aws, source)
    assert "DescribeInstances" in aws.proxy.actions()
    launch(aws.client("ec2"), vm_tags("env", "alpha"))  # not seen until the cache is refreshed
    aws.proxy.clear()

    second = listing(aws, source)
    assert aws.proxy.actions() == []
    assert second == first

    other_account = listing(aws, source, env={"AWS_ACCESS_KEY_ID": "AKIAOTHERACCOUNT0001"})
    assert "DescribeInstances" in aws.proxy.actions()
    assert len(other_account.hostvars) == len(first.hostvars) + 1
    assert len(list(cache_dir.iterdir())) == 2

    aws.proxy.clear()
    refreshed = ansible_inventory(aws, source, "--list", "--flush-cache")
    assert refreshed.returncode == 0, refreshed.stderr
    assert "DescribeInstances" in aws.proxy.actions()
    assert len(json.loads(refreshed.stdout)["_meta"]["hostvars"]) == len(first.hostvars) + 1


def test_unreachable_endpoint_fails_loudly(aws: AWSHarness) -> None:
    source = write_config(aws.workdir, CONFIG)

    # Two attempts, not the policy's ten: what is asserted is the message, and ten take 13 s of backoff.
    completed = ansible_inventory(aws, source, env={"AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}", "AWS_MAX_ATTEMPTS": "2"})

    assert completed.returncode != 0
    assert "osworld.aws.ec2: region us-east-1: " in completed.stderr
    assert "Could not connect to the endpoint URL" in completed.stderr
    assert "Traceback" not in completed.stderr + completed.stdout


def test_a_failing_call_is_tried_as_often_as_aws_max_attempts_says(aws: AWSHarness) -> None:
    source = write_config(aws.workdir, CONFIG)
    aws.proxy.faults = FaultPlan(server_error_rate=1.0, only_actions=frozenset({"DescribeInstances"}))

    completed = ansible_inventory(aws, source, env={"AWS_MAX_ATTEMPTS": "3"})

    assert completed.returncode != 0
    assert "osworld.aws.ec2: region us-east-1: " in completed.stderr
    assert aws.proxy.actions(include_injected=True).count("DescribeInstances") == 3


@pytest.fixture(scope="module")
def iam_moto() -> Any:
    """A moto server that enforces IAM after the calls that set up a user without EC2 rights."""
    with MotoServer(extra_env={"INITIAL_NO_AUTH_ACTION_COUNT": "3"}) as server:
        iam = boto3.client(
            "iam", region_name="us-east-1", endpoint_url=server.url, aws_access_key_id="setup", aws_secret_access_key="setup"
        )
        iam.create_user(UserName="no-ec2")
        iam.put_user_policy(
            UserName="no-ec2",
            PolicyName="s3-only",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}),
        )
        key = iam.create_access_key(UserName="no-ec2")["AccessKey"]
        yield server, key


@pytest.mark.parametrize("who", ["access-denied", "bad-credentials"])
def test_denied_or_bad_credentials_fail_loudly(iam_moto: Any, tmp_path: Path, who: str) -> None:
    server, key = iam_moto
    if who == "access-denied":
        credentials = {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
    else:
        credentials = {"AWS_ACCESS_KEY_ID": "AKIANOSUCHKEY0000000", "AWS_SECRET_ACCESS_KEY": "wrong"}
    env = ansible_env(server.url, {**credentials, "AWS_REGION": "eu-central-1"})
    env.pop("AWS_SESSION_TOKEN")  # the fake session token would not match these keys
    source = write_config(tmp_path, CONFIG)

    command = [str(VENV_BIN / "ansible-inventory"), "-i", str(source), "--list"]
    completed = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)

    assert completed.returncode != 0
    assert "osworld.aws.ec2: region eu-central-1: describe_security_groups failed: " in completed.stderr
    expected = ("UnauthorizedOperation", "AccessDenied") if who == "access-denied" else ("AuthFailure", "InvalidClientTokenId")
    assert any(code in completed.stderr for code in expected), completed.stderr
    assert "Traceback" not in completed.stderr + completed.stdout


def test_ansible_doc_renders(aws: AWSHarness) -> None:
    completed = subprocess.run(
        [str(VENV_BIN / "ansible-doc"), "-t", "inventory", "osworld.aws.ec2"],
        env=aws.env({"PAGER": "cat", "ANSIBLE_PAGER": "cat"}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    for option in ("regions", "instance_states", "env_security_group_ids", "use_public_ip", "endpoint_url", "profile", "keyed_groups", "cache_plugin"):
        assert option in completed.stdout
    assert "EXAMPLES" in completed.stdout
    assert "[WARNING]" not in completed.stderr


def test_unknown_profile_fails_loudly(aws: AWSHarness) -> None:
    source = write_config(aws.workdir, CONFIG + "profile: no-such-profile\n")

    completed = ansible_inventory(aws, source)

    assert completed.returncode != 0
    assert "osworld.aws.ec2: region us-east-1: Cannot open an AWS session: The config profile (no-such-profile) could not be found" in (
        completed.stderr
    )
    assert aws.proxy.actions() == []


def test_osworld_endpoint_url_variable_wins_over_the_environment(aws: AWSHarness, stack: Stack) -> None:
    source = write_config(aws.workdir, CONFIG)
    unreachable = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"}

    completed = ansible_inventory(aws, source, "--list", "-e", f"osworld_endpoint_url={aws.proxy.url}", env=unreachable)

    assert completed.returncode == 0, completed.stderr
    assert {stack.name_of(host) for host in json.loads(completed.stdout)["_meta"]["hostvars"]} == OSWORLD
