"""Preflight in provision.yml against moto: bad input fails first, names the variable, creates nothing.

Every case reads the emulator back (no collection-tagged resource, no instance) and checks the
proxy saw no mutating call; the happy path stays within provision's re-run budget.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.fault_state import live_instances, managed_resources, nothing_created
from tests.support.harness import AWSHarness, PlaybookRun

AMI = "ami-0d23263edb96951d8"
MISSING_AMI = "ami-0123456789abcdef0"
MISSING_SUBNET = "subnet-0123456789abcdef0"

# (extra vars, text the single failure message must contain): each is one bad input.
BAD_PROVISION_INPUTS: list[tuple[dict[str, Any], str]] = [
    ({"osworld_region": "us_east_1"}, "osworld_region"),
    ({"osworld_image_id_map": {"eu-west-1": AMI}}, "osworld_image_id_map: no AMI for region us-east-1"),
    ({"osworld_screen_size": "1280x720"}, "osworld_screen_size"),
    ({"osworld_image_id_map": {"us-east-1": "ami-12"}}, "osworld_image_id_map['us-east-1']"),
    ({"osworld_subnet_id": "subnet-xyz"}, "osworld_subnet_id"),
    ({"osworld_vpc_id": "vpc-1"}, "osworld_vpc_id"),
    ({"osworld_vpc_cidr": "10.0.0.0/33"}, "osworld_vpc_cidr"),
    ({"osworld_subnet_cidr": "10.1.0.0/20"}, "osworld_subnet_cidr: 10.1.0.0/20 is not inside osworld_vpc_cidr"),
    ({"osworld_internal_cidr": "0.0.0.0/0"}, "osworld_internal_cidr"),
    ({"osworld_internal_cidr": "52.0.0.0/8"}, "osworld_internal_cidr"),
    ({"osworld_admin_cidrs": ["not-a-cidr"]}, "osworld_admin_cidrs"),
    ({"osworld_monitor_port": 70000}, "osworld_monitor_port"),
    ({"osworld_monitor_port": 22}, "osworld_monitor_port"),
    ({"osworld_env_count": -1}, "osworld_env_count"),
    ({"osworld_ttl_minutes": -1}, "osworld_ttl_minutes"),
    ({"osworld_availability_zone": "eu-west-1a"}, "osworld_availability_zone"),
    ({"osworld_name_prefix": "my stack"}, "osworld_name_prefix"),
    ({"osworld_extra_tags": {"aws:owner": "me"}}, "osworld_extra_tags"),
    # Type errors: caught by the role's argument_specs before any module runs.
    ({"osworld_monitor_port": "http"}, "osworld_monitor_port"),
    ({"osworld_env_count": "many"}, "osworld_env_count"),
    ({"osworld_image_id_map": "ami-0d23263edb96951d8"}, "osworld_image_id_map"),
    ({"osworld_extra_tags": ["team"]}, "osworld_extra_tags"),
    # Read from the account (one describe call each).
    ({"osworld_image_id_map": {"us-east-1": MISSING_AMI}}, f"osworld_image_id_map['us-east-1']: {MISSING_AMI} does not exist in us-east-1"),
    ({"osworld_subnet_id": MISSING_SUBNET}, f"osworld_subnet_id: {MISSING_SUBNET} does not exist in us-east-1"),
    ({"osworld_vpc_id": "vpc-0123456789abcdef0"}, "osworld_vpc_id: vpc-0123456789abcdef0 does not exist"),
    ({"osworld_instance_type": "t3.bogus"}, "osworld_instance_type: t3.bogus is not offered in us-east-1"),
    ({"osworld_key_name": "nobody-key"}, "osworld_key_name: key pair 'nobody-key' does not exist in us-east-1"),
]


def assert_failed_cleanly(aws: AWSHarness, run: PlaybookRun, expected: str) -> None:
    assert run.rc != 0, run.stdout[-2000:]
    messages = run.failure_messages()
    assert len(messages) == 1, messages
    assert expected in messages[0], messages[0]
    assert "Traceback" not in run.stdout + run.stderr
    assert aws.proxy.mutating_actions() == []
    assert nothing_created(aws.client())


@pytest.mark.parametrize(("extra_vars", "expected"), BAD_PROVISION_INPUTS, ids=[str(case[0])[:50] for case in BAD_PROVISION_INPUTS])
def test_bad_input_fails_before_anything_is_created(aws: AWSHarness, extra_vars: dict[str, Any], expected: str) -> None:
    run = aws.playbook("provision.yml", extra_vars)
    assert_failed_cleanly(aws, run, expected)
    assert not (aws.workdir / "osworld.env").exists()


def test_subnet_of_another_vpc_is_refused(aws: AWSHarness) -> None:
    ec2 = aws.client()
    vpc_a = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    vpc_b = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc_a, CidrBlock="10.20.0.0/24")["Subnet"]["SubnetId"]
    run = aws.playbook("provision.yml", {"osworld_subnet_id": subnet, "osworld_vpc_id": vpc_b})
    assert_failed_cleanly(aws, run, f"osworld_subnet_id: {subnet} is in {vpc_a}, not in osworld_vpc_id {vpc_b}")


def test_instance_type_missing_from_the_subnets_zone_names_the_zones_that_have_it(aws: AWSHarness) -> None:
    # moto, like us-east-1 itself, offers t3.medium in every zone but us-east-1e.
    ec2 = aws.client()
    subnet = ec2.describe_subnets(Filters=[{"Name": "availability-zone", "Values": ["us-east-1e"]}])["Subnets"][0]["SubnetId"]
    run = aws.playbook("provision.yml", {"osworld_subnet_id": subnet})
    assert_failed_cleanly(aws, run, "osworld_instance_type: t3.medium is not offered in us-east-1e (the subnet's zone) but is in us-east-1a")


def test_missing_ami_suggests_copying_it_from_another_region(aws: AWSHarness) -> None:
    aws.client().deregister_image(ImageId=AMI)
    image_map = {"us-east-1": {"1920x1080": AMI}, "eu-west-1": {"1920x1080": AMI}}
    run = aws.playbook("provision.yml", {"osworld_image_id_map": image_map})
    assert_failed_cleanly(
        aws,
        run,
        f"aws ec2 copy-image --source-region eu-west-1 --source-image-id {AMI} --name osworld-ubuntu-1920x1080 --region us-east-1",
    )


def test_missing_ami_points_at_a_copy_already_in_the_region(aws: AWSHarness) -> None:
    ec2 = aws.client()
    ec2.deregister_image(ImageId=AMI)
    reservation = ec2.run_instances(ImageId="ami-0a0e5d9c7acc336f1", MinCount=1, MaxCount=1)
    copy = ec2.create_image(InstanceId=reservation["Instances"][0]["InstanceId"], Name="osworld-ubuntu-1920x1080")["ImageId"]
    ec2.terminate_instances(InstanceIds=[reservation["Instances"][0]["InstanceId"]])
    run = aws.playbook("provision.yml", {"osworld_image_id_map": {"us-east-1": AMI, "eu-west-1": AMI}})
    assert run.rc != 0
    (message,) = run.failure_messages()
    assert f"set osworld_image_id_map['us-east-1'] to {copy}" in message
    assert aws.proxy.mutating_actions() == []
    assert managed_resources(ec2)["vpcs"] == []


def test_unavailable_permission_check_is_skipped_not_fatal(aws: AWSHarness, tmp_path: Path) -> None:
    """moto's Service Quotas knows no EC2 quota: the vCPU check is skipped with a warning."""
    run = aws.playbook(preflight_only(tmp_path), {"osworld_env_count": 3, "osworld_key_name": ""})
    assert run.rc == 0, run.stdout[-2000:]
    (result,) = run.task_results("Check the inputs")
    assert [skip["check"] for skip in result["skipped_checks"]] == ["quota"]
    assert any("Service Quotas did not answer" in warning for warning in result.get("warnings", []))
    assert aws.proxy.actions() == ["DescribeImages", "DescribeInstanceTypeOfferings", "GetServiceQuota"]


def test_happy_path_calls_are_few_and_read_only(aws: AWSHarness, tmp_path: Path) -> None:
    ec2 = aws.client()
    ec2.create_key_pair(KeyName="osworld_key")
    subnet = ec2.describe_subnets(Filters=[{"Name": "availability-zone", "Values": ["us-east-1a"]}])["Subnets"][0]
    run = aws.playbook(preflight_only(tmp_path), {"osworld_subnet_id": subnet["SubnetId"], "osworld_key_name": "osworld_key"})
    assert run.rc == 0, run.stdout[-2000:]
    assert aws.proxy.actions() == ["DescribeImages", "DescribeSubnets", "DescribeInstanceTypeOfferings", "DescribeKeyPairs"]
    (result,) = run.task_results("Check the inputs")
    assert result["image_id"] == AMI and result["availability_zone"] == "us-east-1a"
    assert result["changed"] is False


def test_input_checks_only_make_no_call(aws: AWSHarness, tmp_path: Path) -> None:
    checks = ["common", "image_map", "fleet_inputs"]
    run = aws.playbook(preflight_only(tmp_path), {"osworld_preflight_checks": checks, "osworld_env_count": 4})
    assert run.rc == 0, run.stdout[-2000:]
    assert aws.proxy.actions() == []
    bad = aws.playbook(preflight_only(tmp_path), {"osworld_preflight_checks": checks, "osworld_env_count": 5000})
    assert bad.rc != 0 and "osworld_env_count: 5000 is outside 0-1000" in bad.failure_messages()[0]
    assert aws.proxy.actions() == []


def test_provision_warns_about_admin_cidrs_open_to_the_internet_and_rerun_budget_holds(aws: AWSHarness) -> None:
    first = aws.playbook("provision.yml")
    assert first.rc == 0, first.stdout[-3000:]
    (result,) = first.task_results("Check the inputs")
    assert any("osworld_admin_cidrs contains 0.0.0.0/0" in warning for warning in result.get("warnings", []))
    aws.proxy.clear()
    again = aws.playbook("provision.yml", {"osworld_admin_cidrs": ["203.0.113.7/32"]})
    assert again.rc == 0
    (quiet,) = again.task_results("Check the inputs")
    assert not quiet.get("warnings")
    aws.proxy.clear()
    rerun = aws.playbook("provision.yml", {"osworld_admin_cidrs": ["203.0.113.7/32"]})
    assert rerun.rc == 0 and rerun.changed == 0
    assert aws.proxy.mutating_actions() == []
    assert len(aws.proxy.actions()) <= 10, aws.proxy.actions()
    assert aws.proxy.actions()[:2] == ["DescribeImages", "DescribeInstanceTypeOfferings"]
    assert live_instances(aws.client()) == []


def test_preflight_runs_in_check_mode(aws: AWSHarness) -> None:
    run = aws.playbook("provision.yml", {"osworld_monitor_port": 0}, check=True)
    assert run.rc != 0 and "osworld_monitor_port" in run.failure_messages()[0]
    good = aws.playbook("provision.yml", check=True)
    assert good.rc == 0
    assert aws.proxy.mutating_actions() == []


def preflight_only(tmp_path: Path) -> str:
    playbook = tmp_path / "preflight_only.yml"
    playbook.write_text(
        "- name: Preflight only\n  hosts: localhost\n  connection: local\n  gather_facts: false\n"
        "  roles:\n    - role: osworld.aws.preflight\n"
    )
    return str(playbook)


# The fleet playbooks run input checks only: bad input fails before any AWS call at all.
BAD_FLEET_INPUTS: list[tuple[str, dict[str, Any], str]] = [
    ("envs.yml", {"osworld_env_count": -1}, "osworld_env_count"),
    ("envs.yml", {"osworld_env_count": 2, "osworld_fleet": "my fleet"}, "osworld_fleet"),
    ("envs.yml", {"osworld_env_count": 2, "osworld_screen_size": "800x600"}, "osworld_screen_size"),
    ("envs.yml", {"osworld_env_count": 2, "osworld_security_group_id": "sg-nope"}, "osworld_security_group_id"),
    ("reap.yml", {"osworld_ttl_minutes": -5}, "osworld_ttl_minutes"),
    ("reap.yml", {"osworld_region": "nowhere"}, "osworld_region"),
    ("teardown.yml", {"osworld_region": "us-east-1a"}, "osworld_region"),
    ("teardown.yml", {"osworld_name_prefix": "a/b"}, "osworld_name_prefix"),
]


@pytest.mark.parametrize(("playbook", "extra_vars", "variable"), BAD_FLEET_INPUTS, ids=[f"{c[0]}-{list(c[1])[-1]}" for c in BAD_FLEET_INPUTS])
def test_fleet_playbooks_refuse_bad_input_without_any_call(aws: AWSHarness, playbook: str, extra_vars: dict[str, Any], variable: str) -> None:
    run = aws.playbook(playbook, extra_vars)
    assert run.rc != 0
    (message,) = run.failure_messages()
    assert variable in message, message
    assert "Traceback" not in run.stdout + run.stderr
    assert aws.proxy.actions() == []


def test_fleet_playbooks_preflight_makes_no_call_and_the_noop_fleet_stays_within_five(aws: AWSHarness) -> None:
    aws.provisioned()
    assert aws.playbook("envs.yml", {"osworld_env_count": 2}).rc == 0
    aws.proxy.clear()
    noop = aws.playbook("envs.yml", {"osworld_env_count": 2})
    assert noop.rc == 0 and noop.changed == 0
    assert len(aws.proxy.actions()) <= 5, aws.proxy.actions()
    assert "DescribeImages" not in aws.proxy.actions()
    aws.proxy.clear()
    teardown_all = aws.playbook("teardown.yml", {"osworld_fleet": "all"})
    assert teardown_all.rc == 0, teardown_all.failure_messages()
    assert live_instances(aws.client()) == []


def test_the_quota_counts_what_runs_but_not_the_fleet_being_scaled(aws: AWSHarness, tmp_path: Path) -> None:
    """A fleet's own VMs do not count (osworld_env_count is a target); any other running VM does."""
    ec2 = aws.client()
    fleet_tags = [{"Key": k, "Value": v} for k, v in {"osworld:managed-by": "osworld.aws", "osworld:role": "env", "osworld:fleet": "default"}.items()]
    ec2.run_instances(
        ImageId=AMI, InstanceType="t3.medium", MinCount=2, MaxCount=2, TagSpecifications=[{"ResourceType": "instance", "Tags": fleet_tags}]
    )
    aws.proxy.service_quotas = {"L-1216C47A": 8.0}
    variables = {"osworld_env_count": 3, "osworld_key_name": "", "osworld_preflight_checks": ["quota"]}

    fits = aws.playbook(preflight_only(tmp_path), variables)
    assert fits.rc == 0, fits.failure_messages()
    (result,) = fits.task_results("Check the inputs")
    assert (result["vcpus_needed"], result["vcpus_in_use"]) == (6, 0)
    # t3.medium's vCPUs are known (quota.KNOWN_TYPE_VCPUS); a type outside that table is asked for.
    assert aws.proxy.actions() == ["GetServiceQuota", "DescribeInstances"]

    ec2.run_instances(ImageId=AMI, InstanceType="t3.medium", MinCount=2, MaxCount=2)  # somebody else's: 4 vCPUs
    aws.proxy.clear()
    refused = aws.playbook(preflight_only(tmp_path), variables)
    assert refused.rc != 0
    (message,) = refused.failure_messages()
    assert "osworld_env_count: 3 x t3.medium need 6 vCPUs" in message and "already use 4, leaving 4" in message
    assert aws.proxy.mutating_actions() == []

    aws.proxy.clear()
    unlisted = aws.playbook(preflight_only(tmp_path), {**variables, "osworld_instance_type": "m7i.large"})
    assert "osworld_env_count: 3 x m7i.large need 6 vCPUs" in " ".join(unlisted.failure_messages())
    assert aws.proxy.actions() == ["GetServiceQuota", "DescribeInstances", "DescribeInstanceTypes"]


def test_input_checks_alone_run_in_the_controller_and_aws_checks_in_the_module(aws: AWSHarness, tmp_path: Path) -> None:
    """The action plugin answers input-only checks itself (no module process, so no `invocation` in
    the result); an AWS check goes to the module. Either way the result is the module's."""

    def preflight_result(run: PlaybookRun) -> dict[str, Any]:
        (result,) = [
            task["hosts"]["localhost"] for play in run.output["plays"] for task in play["tasks"] if "checks" in task["hosts"].get("localhost", {})
        ]
        return dict(result)

    inputs = preflight_result(aws.playbook(preflight_only(tmp_path), {"osworld_preflight_checks": ["fleet_inputs"]}))
    assert "invocation" not in inputs and inputs["checks"] == ["common", "fleet_inputs"] and not inputs.get("failed")
    assert aws.proxy.actions() == []

    image = preflight_result(aws.playbook(preflight_only(tmp_path), {"osworld_preflight_checks": ["image"]}))
    assert "invocation" in image and image["checks"] == ["common", "image_map", "image"]
    assert aws.proxy.actions() == ["DescribeImages"]


def test_input_checks_in_the_controller_read_the_tasks_environment_as_the_module_would(aws: AWSHarness, tmp_path: Path) -> None:
    """A module process gets the task's `environment:` over the controller's; the action plugin's
    checks must see the same: the region and the exported subnet come from it here."""
    subnet = "subnet-0123456789abcdef0"
    playbook = tmp_path / "environment.yml"
    playbook.write_text(
        "- name: Preflight with a task environment\n  hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n"
        "    - name: Check the inputs\n      osworld.aws.preflight:\n        checks: [fleet_inputs]\n"
        f"        subnet_id: {subnet}\n      environment:\n        AWS_REGION: nowhere\n        AWS_SUBNET_ID: {subnet}\n"
    )
    run = aws.playbook(str(playbook))
    (result,) = [task["hosts"]["localhost"] for play in run.output["plays"] for task in play["tasks"]]
    assert "invocation" not in result, "ran as a module, not in the controller"
    assert "osworld_region: 'nowhere' is not an AWS region name" in result["msg"], result["msg"]
    assert result["notices"] == [f"adopting {subnet} from AWS_SUBNET_ID"]
    assert aws.proxy.actions() == []
