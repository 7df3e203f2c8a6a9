"""Every playbook that launches checks before its first mutating call, in one report.

envs.yml: the subnet and env group exist and share a VPC, the type is offered in the subnet's
zone, the key pair exists (checked right before RunInstances, so a run at the right count still
makes no extra call). provision.yml: the host machine's checks are preflight's too. Exported
AWS_SUBNET_ID / AWS_SECURITY_GROUP_ID are said out loud.
"""
from __future__ import annotations

from typing import Any

from tests.support.fault_state import live_instances, managed_resources, nothing_created
from tests.support.harness import AWSHarness

MISSING_SUBNET = "subnet-0123456789abcdef0"
MISSING_GROUP = "sg-0123456789abcdef0"


def network_in(aws: AWSHarness, zone: str, cidr: str = "10.40.0.0/16") -> tuple[str, str, str]:
    ec2 = aws.client()
    vpc_id = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr.replace("0.0/16", "1.0/24"), AvailabilityZone=zone)["Subnet"]["SubnetId"]
    group_id = ec2.create_security_group(GroupName=f"g-{cidr}", Description="mine", VpcId=vpc_id)["GroupId"]
    return vpc_id, subnet_id, group_id


def only_failure(run: Any) -> str:
    assert run.rc != 0, run.stdout[-2000:]
    (message,) = run.failure_messages()
    assert "Traceback" not in run.stdout + run.stderr
    return str(message)


def test_envs_with_a_missing_subnet_and_group_fails_before_run_instances_naming_both(aws: AWSHarness) -> None:
    run = aws.playbook("envs.yml", {"osworld_env_count": 2, "osworld_subnet_id": MISSING_SUBNET, "osworld_security_group_id": MISSING_GROUP})

    message = only_failure(run)
    assert "2 problems" in message, message
    assert f"osworld_subnet_id: {MISSING_SUBNET} does not exist in us-east-1" in message
    assert f"osworld_security_group_id: {MISSING_GROUP} does not exist in us-east-1" in message
    assert aws.proxy.mutating_actions() == []
    assert live_instances(aws.client()) == []


def test_envs_refuses_a_group_of_another_vpc_a_type_missing_from_the_zone_and_a_missing_key_in_one_report(aws: AWSHarness) -> None:
    subnet_id = network_in(aws, "us-east-1e")[1]
    foreign_group = network_in(aws, "us-east-1a", "10.50.0.0/16")[2]

    run = aws.playbook(
        "envs.yml",
        {"osworld_env_count": 1, "osworld_subnet_id": subnet_id, "osworld_security_group_id": foreign_group, "osworld_key_name": "nobody"},
    )

    message = only_failure(run)
    assert "3 problems" in message, message
    assert f"osworld_security_group_id: {foreign_group} is in" in message and f"osworld_subnet_id {subnet_id} is in" in message
    assert "osworld_instance_type: t3.medium is not offered in us-east-1e (the subnet's zone)" in message
    assert "osworld_key_name: key pair 'nobody' does not exist" in message
    assert aws.proxy.mutating_actions() == []
    assert live_instances(aws.client()) == []


def test_envs_says_it_uses_the_exported_subnet_and_group(aws: AWSHarness) -> None:
    subnet_id, group_id = network_in(aws, "us-east-1a")[1:]

    run = aws.playbook("envs.yml", {"osworld_env_count": 1}, env={"AWS_SUBNET_ID": subnet_id, "AWS_SECURITY_GROUP_ID": group_id})

    assert run.rc == 0, run.failure_messages()
    (said,) = run.task_results("exported variables")
    assert said["msg"] == [f"adopting {subnet_id} from AWS_SUBNET_ID", f"using security group {group_id} from AWS_SECURITY_GROUP_ID"]
    (vm,) = live_instances(aws.client())
    assert vm["SubnetId"] == subnet_id
    assert {group["GroupId"] for interface in vm["NetworkInterfaces"] for group in interface["Groups"]} == {group_id}


def test_provision_says_it_adopts_the_exported_subnet_and_a_missing_one_names_the_variable(aws: AWSHarness) -> None:
    vpc_id, subnet_id = network_in(aws, "us-east-1a")[:2]

    run = aws.playbook("provision.yml", env={"AWS_SUBNET_ID": subnet_id, "AWS_SECURITY_GROUP_ID": MISSING_GROUP})

    assert run.rc == 0, run.failure_messages()
    (said,) = run.task_results("exported variables")
    # provision makes its own env group: an exported group is not its concern, and not said.
    assert said["msg"] == [f"adopting {subnet_id} from AWS_SUBNET_ID"]
    (summary,) = [result for result in run.task_results("Summary") if isinstance(result.get("msg"), list)]
    assert any(f"{subnet_id} (adopted from the exported AWS_SUBNET_ID)" in line for line in summary["msg"])
    groups = aws.client().describe_security_groups(Filters=[{"Name": "tag:osworld:component", "Values": ["env-security-group"]}])
    assert groups["SecurityGroups"][0]["VpcId"] == vpc_id

    aws.server.reset()
    missing = aws.playbook("provision.yml", env={"AWS_SUBNET_ID": MISSING_SUBNET})
    message = only_failure(missing)
    assert f"osworld_subnet_id: {MISSING_SUBNET} does not exist" in message and f"adopting {MISSING_SUBNET} from AWS_SUBNET_ID" in message
    assert nothing_created(aws.client())


def test_provision_lists_every_host_problem_with_the_others_before_anything_is_created(aws: AWSHarness) -> None:
    subnet_id = network_in(aws, "us-east-1e")[1]

    run = aws.playbook(
        "provision.yml",
        {
            "osworld_subnet_id": subnet_id,
            "osworld_instance_type": "m5.large",
            "osworld_host_launch": True,
            "osworld_host_ami": "ami-0123456789abcdef0",
            "osworld_key_name": "nobody",
        },
    )

    message = only_failure(run)
    assert "4 problems" in message, message
    for expected in (
        "osworld_instance_type: m5.large is not offered in us-east-1e (the subnet's zone)",
        "osworld_host_ami: ami-0123456789abcdef0 is not available in us-east-1",
        "osworld_host_instance_type: t3.large is not offered in us-east-1e (the subnet's zone)",
        "osworld_key_name: key pair 'nobody'",
    ):
        assert expected in message, (expected, message)
    assert aws.proxy.mutating_actions() == []
    assert managed_resources(aws.client())["security_groups"] == []
    assert aws.client("iam").list_roles()["Roles"] == []


def test_envs_refuses_a_fleet_beyond_the_vcpu_quota_before_run_instances(aws: AWSHarness) -> None:
    """moto has no EC2 quotas: the recording proxy answers GetServiceQuota (16 vCPUs) itself."""
    subnet_id, group_id = network_in(aws, "us-east-1a")[1:]
    aws.proxy.service_quotas = {"L-1216C47A": 16.0}
    variables = {"osworld_subnet_id": subnet_id, "osworld_security_group_id": group_id}

    grown = aws.playbook("envs.yml", {**variables, "osworld_env_count": 6})
    assert grown.rc == 0, grown.failure_messages()
    # The fleet's own 6 x 2 vCPUs do not count against its new target: 8 x 2 = 16 fits.
    assert aws.playbook("envs.yml", {**variables, "osworld_env_count": 8}).rc == 0
    aws.proxy.clear()

    message = only_failure(aws.playbook("envs.yml", {**variables, "osworld_env_count": 9}))
    assert "osworld_env_count: 9 x t3.medium need 18 vCPUs" in message, message
    assert "RunInstances" not in aws.proxy.actions()
    assert len(live_instances(aws.client())) == 8
