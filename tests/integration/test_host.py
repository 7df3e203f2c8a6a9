"""The host machine, its IAM instance profile and the TTL scheduler role against moto: provision.yml,
teardown.yml and client.yml, state read back with boto3, calls counted by the proxy."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from dotenv import dotenv_values

from tests.support.fault_state import tags_of
from tests.support.harness import REPO, AWSHarness

HOST = {"osworld_host_launch": True, "osworld_enable_ttl": True}
HOST_AMI = "ami-0a0e5d9c7acc336f1"
LIVE_STATES = ["pending", "running", "stopping", "stopped"]
HOST_ROLE = "osworld-host-us-east-1"
TTL_ROLE = "osworld-ttl-scheduler-us-east-1"


def instances(aws: AWSHarness, *filters: dict[str, Any], region: str = "us-east-1") -> list[dict[str, Any]]:
    wanted = [{"Name": "instance-state-name", "Values": LIVE_STATES}, *filters]
    reservations = aws.client("ec2", region).describe_instances(Filters=wanted)["Reservations"]
    return [instance for reservation in reservations for instance in reservation["Instances"]]


def host_machines(aws: AWSHarness, region: str = "us-east-1") -> list[dict[str, Any]]:
    return instances(aws, {"Name": "tag:osworld:role", "Values": ["host"]}, region=region)


def stack_groups(aws: AWSHarness) -> dict[str, dict[str, Any]]:
    groups = aws.client().describe_security_groups(Filters=[{"Name": "tag:osworld:stack", "Values": ["osworld"]}])
    return {tags_of(group)["osworld:component"]: group for group in groups["SecurityGroups"]}


def role_names(aws: AWSHarness) -> set[str]:
    return {role["RoleName"] for role in aws.client("iam").list_roles()["Roles"]}


def inline_policy(aws: AWSHarness, role: str) -> dict[str, Any]:
    iam = aws.client("iam")
    (name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    return dict(iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"])


def provision(aws: AWSHarness, extra: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    run = aws.playbook("provision.yml", {**HOST, **(extra or {})}, **kwargs)
    assert run.rc == 0, run.failure_messages() or run.stderr[-2000:]
    return run


def test_host_machine_instance_profile_and_ttl_role(aws: AWSHarness) -> None:
    provision(aws)

    (host,) = host_machines(aws)
    groups = stack_groups(aws)
    assert tags_of(host) == {
        "osworld:managed-by": "osworld.aws",
        "osworld:role": "host",
        "osworld:component": "host",
        "osworld:stack": "osworld",
        "Name": "osworld-host",
    }
    assert host["State"]["Name"] == "running"
    assert host["ImageId"] == HOST_AMI
    assert host["InstanceType"] == "t3.large"
    assert host["SubnetId"] == tags_of(groups["env-security-group"])["osworld:subnet"]
    interface_groups = {group["GroupId"] for interface in host["NetworkInterfaces"] for group in interface["Groups"]}
    assert interface_groups == {groups["host-security-group"]["GroupId"]}
    assert host.get("PublicIpAddress")
    assert host["MetadataOptions"]["HttpTokens"] == "required"
    assert host["IamInstanceProfile"]["Arn"].endswith(f":instance-profile/{HOST_ROLE}")
    # Tagged by RunInstances itself: no later CreateTags could leave an untagged host behind.
    assert "CreateTags" not in aws.proxy.actions()

    iam = aws.client("iam")
    profile = iam.get_instance_profile(InstanceProfileName=HOST_ROLE)["InstanceProfile"]
    assert [role["RoleName"] for role in profile["Roles"]] == [HOST_ROLE]
    host_role = iam.get_role(RoleName=HOST_ROLE)["Role"]
    trusted = [statement["Principal"] for statement in host_role["AssumeRolePolicyDocument"]["Statement"]]
    assert trusted == [{"Service": "ec2.amazonaws.com"}]
    assert inline_policy(aws, HOST_ROLE) == json.loads((REPO / "policies" / "host.json").read_text())

    ttl_role = iam.get_role(RoleName=TTL_ROLE)["Role"]
    assert ttl_role["AssumeRolePolicyDocument"] == json.loads((REPO / "policies" / "ttl-scheduler-trust.json").read_text())
    assert [s["Principal"] for s in ttl_role["AssumeRolePolicyDocument"]["Statement"]] == [{"Service": "scheduler.amazonaws.com"}]
    assert inline_policy(aws, TTL_ROLE) == json.loads((REPO / "policies" / "ttl-scheduler.json").read_text())
    for role in (HOST_ROLE, TTL_ROLE):
        role_tags = tags_of(iam.get_role(RoleName=role)["Role"])
        assert role_tags["osworld:managed-by"] == "osworld.aws"
        assert role_tags["osworld:stack"] == "osworld"
        # README "What gets created": the host's IAM pieces carry osworld:role=host too.
        assert role_tags["osworld:role"] == "host"
    assert tags_of(iam.get_instance_profile(InstanceProfileName=HOST_ROLE)["InstanceProfile"])["osworld:role"] == "host"

    env = dotenv_values(aws.workdir / "osworld.env")
    assert env["ENABLE_TTL"] == "true"
    assert env["DEFAULT_TTL_MINUTES"] == "180"
    assert env["AWS_SCHEDULER_ROLE_ARN"] == ttl_role["Arn"]
    assert env["AWS_SECURITY_GROUP_ID"] == groups["env-security-group"]["GroupId"]


def test_rerun_changes_nothing_and_calls_nothing_mutating(aws: AWSHarness) -> None:
    aws.provisioned(HOST)

    again = provision(aws)

    assert again.changed == 0
    assert aws.proxy.mutating_actions() == []
    assert len(host_machines(aws)) == 1


def test_a_terminated_host_is_replaced_and_a_stopped_one_started(aws: AWSHarness) -> None:
    aws.provisioned(HOST)
    ec2 = aws.client()
    (first,) = host_machines(aws)
    ec2.stop_instances(InstanceIds=[first["InstanceId"]])

    provision(aws)
    (started,) = host_machines(aws)
    assert started["InstanceId"] == first["InstanceId"]
    assert started["State"]["Name"] == "running"

    ec2.terminate_instances(InstanceIds=[first["InstanceId"]])
    provision(aws)
    (replacement,) = host_machines(aws)
    assert replacement["InstanceId"] != first["InstanceId"]


def test_check_mode_creates_nothing(aws: AWSHarness) -> None:
    run = provision(aws, check=True)

    assert run.changed > 0
    assert aws.proxy.mutating_actions() == []
    assert host_machines(aws) == []
    assert not role_names(aws) & {HOST_ROLE, TTL_ROLE}


def test_without_the_options_no_host_and_no_iam(aws: AWSHarness) -> None:
    run = aws.playbook("provision.yml")
    assert run.rc == 0, run.failure_messages()

    assert host_machines(aws) == []
    assert role_names(aws) == set()
    assert "ENABLE_TTL" not in dotenv_values(aws.workdir / "osworld.env")
    assert aws.proxy.actions("iam") == []


BAD_HOST_INPUTS = [
    ({"osworld_host_ami": "ubuntu-22.04"}, "osworld_host_ami"),
    ({"osworld_host_ami": "ami-0123456789abcdef0"}, "osworld_host_ami: ami-0123456789abcdef0 is not available in us-east-1"),
    ({"osworld_host_instance_type": "large"}, "osworld_host_instance_type"),
    ({"osworld_host_volume_size": 4}, "osworld_host_volume_size"),
    ({"osworld_name_prefix": "p" * 41}, "osworld_name_prefix"),
    ({"osworld_host_policy_file": "/nonexistent/host.json"}, "osworld_host_policy_file"),
    ({"osworld_ttl_scheduler_policy_file": "/nonexistent/ttl.json"}, "osworld_ttl_scheduler_policy_file"),
]


@pytest.mark.parametrize(("bad", "named"), BAD_HOST_INPUTS, ids=[f"{i}-{case[1].split(':')[0]}" for i, case in enumerate(BAD_HOST_INPUTS)])
def test_bad_host_input_fails_before_anything_is_created(aws: AWSHarness, bad: dict[str, Any], named: str) -> None:
    run = aws.playbook("provision.yml", {**HOST, **bad})

    assert run.rc != 0
    assert any(named in message for message in run.failure_messages()), run.failure_messages()
    assert aws.proxy.mutating_actions() == []


def test_the_host_role_on_its_own_runs_the_host_checks_of_the_preflight_role(aws: AWSHarness, tmp_path: Path) -> None:
    playbook = tmp_path / "host_only.yml"
    playbook.write_text(
        "- name: The host role without provision.yml's preflight\n  hosts: localhost\n  connection: local\n"
        "  gather_facts: false\n  roles:\n    - role: osworld.aws.host\n"
        "      vars:\n        osworld_stack: {subnet_id: subnet-0123456789abcdef0, host_security_group_id: sg-0123456789abcdef0}\n"
    )
    bad_input = aws.playbook(str(playbook), {**HOST, "osworld_host_instance_type": "large", "osworld_host_volume_size": 4})
    (message,) = bad_input.failure_messages()
    assert "osworld_host_instance_type" in message and "osworld_host_volume_size" in message, message
    assert aws.proxy.actions() == []

    missing_ami = aws.playbook(str(playbook), {**HOST, "osworld_host_ami": "ami-0123456789abcdef0"})
    (message,) = missing_ami.failure_messages()
    assert "osworld_host_ami: ami-0123456789abcdef0 is not available in us-east-1" in message, message
    assert aws.proxy.mutating_actions() == []


def test_teardown_keeps_the_host_unless_asked_and_deletes_only_this_stacks_iam(aws: AWSHarness) -> None:
    aws.provisioned(HOST)
    # The same stack name in another region: IAM is account-wide, its roles must survive.
    west = {"osworld_region": "us-west-2", "osworld_image_id_map": {"us-west-2": {"1920x1080": "ami-0d23263edb96951d8"}}}
    provision(aws, west, env={"AWS_REGION": "us-west-2"})
    ec2 = aws.client()
    subnet = tags_of(stack_groups(aws)["env-security-group"])["osworld:subnet"]
    (foreign,) = ec2.run_instances(ImageId=HOST_AMI, MinCount=1, MaxCount=1, SubnetId=subnet)["Instances"]

    run = aws.playbook("teardown.yml")
    assert run.rc == 0, run.failure_messages()
    assert len(host_machines(aws)) == 1

    run = aws.playbook("teardown.yml", {"osworld_teardown_host": True})
    assert run.rc == 0, run.failure_messages()
    assert host_machines(aws) == []
    assert {HOST_ROLE, TTL_ROLE} <= role_names(aws)

    # The foreign VM blocks the subnet's deletion, not the IAM clean-up.
    aws.playbook("teardown.yml", {"osworld_teardown_network": True})
    remaining = role_names(aws)
    assert not remaining & {HOST_ROLE, TTL_ROLE}
    assert {"osworld-host-us-west-2", "osworld-ttl-scheduler-us-west-2"} <= remaining
    assert aws.client("iam").list_instance_profiles()["InstanceProfiles"][0]["InstanceProfileName"] == "osworld-host-us-west-2"
    assert len(host_machines(aws, "us-west-2")) == 1
    assert [i["InstanceId"] for i in instances(aws, {"Name": "instance-id", "Values": [foreign["InstanceId"]]})] == [foreign["InstanceId"]]


def test_teardown_network_leaves_a_same_named_role_without_the_stacks_tags(aws: AWSHarness) -> None:
    iam = aws.client("iam")
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    iam.create_role(RoleName=TTL_ROLE, AssumeRolePolicyDocument=trust, Tags=[{"Key": "osworld:stack", "Value": "someone-else"}])

    run = aws.playbook("teardown.yml", {"osworld_teardown_network": True})

    assert run.rc == 0, run.failure_messages()
    assert TTL_ROLE in role_names(aws)


def test_provision_refuses_a_same_named_role_of_someone_else_before_creating_anything(aws: AWSHarness) -> None:
    iam = aws.client("iam")
    trust = {"Version": "2012-10-17", "Statement": []}
    iam.create_role(RoleName=TTL_ROLE, AssumeRolePolicyDocument=json.dumps(trust), Tags=[{"Key": "osworld:stack", "Value": "someone-else"}])
    aws.proxy.clear()

    run = aws.playbook("provision.yml", HOST)

    assert run.rc != 0
    (message,) = run.failure_messages()
    assert f"osworld_name_prefix: IAM role {TTL_ROLE} exists and was made by stack 'someone-else'" in message, message
    assert aws.proxy.mutating_actions() == []
    role = iam.get_role(RoleName=TTL_ROLE)["Role"]
    assert (role["AssumeRolePolicyDocument"], tags_of(role)) == (trust, {"osworld:stack": "someone-else"})
    assert iam.list_role_policies(RoleName=TTL_ROLE)["PolicyNames"] == []


def host_iam_playbook(directory: Path, **options: Any) -> Path:
    """A playbook of one osworld.aws.host_iam task in us-east-1, with the shipped host policy."""
    arguments = {"region": "us-east-1", "host_policy_file": str(REPO / "policies" / "host.json"), **options}
    task = {"name": "The host's IAM pieces", "osworld.aws.host_iam": arguments}
    play = {"name": "host_iam on its own", "hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": [task]}
    playbook = directory / "host_iam.yml"
    playbook.write_text(json.dumps([play]))
    return playbook


def test_host_iam_writes_nothing_to_a_foreign_role_and_plans_in_check_mode(aws: AWSHarness, tmp_path: Path) -> None:
    iam = aws.client("iam")
    trust = {"Version": "2012-10-17", "Statement": []}
    iam.create_role(RoleName=HOST_ROLE, AssumeRolePolicyDocument=json.dumps(trust))
    playbook = host_iam_playbook(
        tmp_path,
        host_instance_profile="{{ host | default(true) }}",
        enable_ttl=True,
        ttl_scheduler_policy_file=str(REPO / "policies" / "ttl-scheduler.json"),
        ttl_scheduler_trust_file=str(REPO / "policies" / "ttl-scheduler-trust.json"),
    )
    refused = aws.playbook(str(playbook))
    (message,) = refused.failure_messages()
    assert f"IAM role {HOST_ROLE} exists and was made by someone else" in message, message
    assert aws.proxy.mutating_actions() == []
    assert tags_of(iam.get_role(RoleName=HOST_ROLE)["Role"]) == {}

    planned = aws.playbook(str(playbook), {"host": False}, check=True, diff=True)
    assert planned.rc == 0, planned.failure_messages()
    (result,) = [task["hosts"]["localhost"] for play in planned.output["plays"] for task in play["tasks"]]
    assert result["changed"] and result["scheduler_role_arn"] == ""
    assert list(result["diff"]["after"]) == [TTL_ROLE] and result["diff"]["before"] == {TTL_ROLE: None}
    assert aws.proxy.mutating_actions() == []
    assert TTL_ROLE not in role_names(aws)


def test_the_host_role_of_another_stack_may_pass_that_stacks_scheduler_role(aws: AWSHarness, tmp_path: Path) -> None:
    playbook = host_iam_playbook(tmp_path, stack="lab", host_instance_profile=True)
    run = aws.playbook(str(playbook))
    assert run.rc == 0, run.failure_messages()
    policy = inline_policy(aws, "lab-host-us-east-1")
    (passed,) = [statement["Resource"] for statement in policy["Statement"] if statement["Action"] == "iam:PassRole"]
    assert passed == "arn:aws:iam::*:role/lab-ttl-scheduler-*"


def make_checkout(root: Path, env_text: str = "") -> Path:
    (root / "desktop_env").mkdir(parents=True)
    (root / "monitor").mkdir()
    (root / "monitor" / ".env").write_text("FLASK_PORT=80\nMODEL_NAME=gpt-4o\n")
    if env_text:
        (root / ".env").write_text(env_text)
    return root


def test_client_playbook_writes_the_stacks_env_into_a_checkout(aws: AWSHarness, tmp_path: Path) -> None:
    aws.provisioned(HOST)
    checkout = make_checkout(tmp_path / "OSWorld", "OPENAI_API_KEY=sk-own\nAWS_REGION=eu-west-1\n")
    client_vars = {"osworld_client_hosts": "localhost", "osworld_client_dir": str(checkout)}

    run = aws.playbook("client.yml", client_vars)
    assert run.rc == 0, run.failure_messages()

    written = dotenv_values(checkout / ".env")
    assert written.pop("OPENAI_API_KEY") == "sk-own"
    assert written == dotenv_values(aws.workdir / "osworld.env")
    monitor = dotenv_values(checkout / "monitor" / ".env")
    assert monitor == {"FLASK_PORT": "8080", "MODEL_NAME": "gpt-4o", "FLASK_HOST": "0.0.0.0"}
    assert (checkout / ".env").stat().st_mode & 0o777 == 0o600

    aws.proxy.clear()
    again = aws.playbook("client.yml", client_vars)
    assert again.rc == 0 and again.changed == 0
    assert aws.proxy.mutating_actions() == []


def test_client_playbook_without_a_stack_says_to_provision_first(aws: AWSHarness, tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path / "OSWorld")

    run = aws.playbook("client.yml", {"osworld_client_hosts": "localhost", "osworld_client_dir": str(checkout)})

    assert run.rc != 0
    assert any("run provision.yml first" in message for message in run.failure_messages())
    assert not (checkout / ".env").exists()


def test_host_ttl_gives_the_host_an_expiry_at_launch_that_reap_reads(aws: AWSHarness) -> None:
    from datetime import datetime, timedelta, timezone

    before = datetime.now(timezone.utc).replace(microsecond=0)
    provision(aws, {"osworld_host_ttl_minutes": 90, "osworld_enable_ttl": False})
    after = datetime.now(timezone.utc)

    (host,) = host_machines(aws)
    expires = tags_of(host)["osworld:expires-at"]
    assert before + timedelta(minutes=90) <= datetime.fromisoformat(expires.replace("Z", "+00:00")) <= after + timedelta(minutes=90)
    aws.proxy.clear()
    again = provision(aws, {"osworld_host_ttl_minutes": 90, "osworld_enable_ttl": False})
    assert again.changed == 0 and aws.proxy.mutating_actions() == []
    assert tags_of(host_machines(aws)[0])["osworld:expires-at"] == expires, "the expiry is set at launch only"

    reaped = aws.playbook("reap.yml", {"osworld_reap_include_hosts": True})
    assert reaped.rc == 0
    (result,) = reaped.task_results("past their expiry")
    assert [(vm["instance_id"], vm["reason"]) for vm in result["kept"]] == [(host["InstanceId"], "not expired")]
    assert not result.get("warnings")


def test_a_host_without_ttl_has_no_expiry_and_reap_keeps_it_quietly(aws: AWSHarness) -> None:
    provision(aws, {"osworld_enable_ttl": False})
    (host,) = host_machines(aws)
    assert "osworld:expires-at" not in tags_of(host)
    reaped = aws.playbook("reap.yml", {"osworld_reap_include_hosts": True})
    assert reaped.rc == 0 and reaped.changed == 0
    (result,) = reaped.task_results("past their expiry")
    assert [vm["instance_id"] for vm in result["kept"]] == [host["InstanceId"]]
    assert not result.get("warnings")
