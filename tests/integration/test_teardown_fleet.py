"""teardown.yml's fleet step against moto: one fleet, every fleet, and before the groups go."""
from __future__ import annotations

from typing import Any

from tests.support.fault_state import instance_states, tags_of
from tests.support.harness import AWSHarness

AMI = "ami-0d23263edb96951d8"


def fleet_ids(aws: AWSHarness, fleet: str) -> list[str]:
    reservations = aws.client().describe_instances(Filters=[{"Name": "tag:osworld:fleet", "Values": [fleet]}])["Reservations"]
    return sorted(instance["InstanceId"] for reservation in reservations for instance in reservation["Instances"])


def env_group(aws: AWSHarness) -> dict[str, Any]:
    return dict(
        aws.client().describe_security_groups(Filters=[{"Name": "tag:osworld:component", "Values": ["env-security-group"]}])[
            "SecurityGroups"
        ][0]
    )


def foreign_vms(aws: AWSHarness, subnet_id: str, vpc_id: str) -> list[str]:
    """In the same subnet: an untagged VM in another group, and another tool's tagged VM."""
    ec2 = aws.client()
    group = ec2.create_security_group(GroupName="not-osworld", Description="not OSWorld", VpcId=vpc_id)["GroupId"]
    ids = []
    for tags in ([], [{"Key": "osworld:fleet", "Value": "a"}, {"Key": "owner", "Value": "someone"}]):
        request: dict[str, Any] = {"ImageId": AMI, "InstanceType": "t3.micro", "MinCount": 1, "MaxCount": 1, "SubnetId": subnet_id}
        request["SecurityGroupIds"] = [group]
        if tags:
            request["TagSpecifications"] = [{"ResourceType": "instance", "Tags": tags}]
        ids.append(ec2.run_instances(**request)["Instances"][0]["InstanceId"])
    return ids


def test_teardown_terminates_only_the_named_fleet(aws: AWSHarness) -> None:
    aws.provisioned()
    group = env_group(aws)
    foreign = foreign_vms(aws, tags_of(group)["osworld:subnet"], group["VpcId"])
    assert aws.playbook("envs.yml", {"osworld_fleet": "a", "osworld_env_count": 3}).rc == 0
    assert aws.playbook("envs.yml", {"osworld_fleet": "b", "osworld_env_count": 2}).rc == 0
    a = [i for i in fleet_ids(aws, "a") if i not in foreign]
    b = fleet_ids(aws, "b")

    aws.proxy.clear()
    check = aws.playbook("teardown.yml", {"osworld_fleet": "a"}, check=True)
    assert check.rc == 0, check.stdout + check.stderr
    assert aws.proxy.mutating_actions() == []
    assert {instance_states(aws.client())[i] for i in a} == {"running"}

    aws.proxy.clear()
    run = aws.playbook("teardown.yml", {"osworld_fleet": "a"})
    assert run.rc == 0, run.stdout + run.stderr
    assert aws.proxy.actions("ec2").count("TerminateInstances") == 1
    after = instance_states(aws.client())
    assert {after[i] for i in a} == {"terminated"}
    assert {after[i] for i in b} == {"running"}
    assert {after[i] for i in foreign} == {"running"}
    assert env_group(aws)["GroupId"] == group["GroupId"], "groups stay without osworld_teardown_network"

    aws.proxy.clear()
    again = aws.playbook("teardown.yml", {"osworld_fleet": "a"})
    assert again.rc == 0
    assert "TerminateInstances" not in aws.proxy.mutating_actions()


def test_teardown_of_every_fleet_and_the_network_terminates_vms_before_deleting_groups(aws: AWSHarness) -> None:
    aws.provisioned()
    ec2 = aws.client()
    default_vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    default_subnet = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [default_vpc]}])["Subnets"][0]["SubnetId"]
    foreign = foreign_vms(aws, default_subnet, default_vpc)
    assert aws.playbook("envs.yml", {"osworld_fleet": "a", "osworld_env_count": 3}).rc == 0
    assert aws.playbook("envs.yml", {"osworld_fleet": "b", "osworld_env_count": 2}).rc == 0
    ours = [i for i in (*fleet_ids(aws, "a"), *fleet_ids(aws, "b")) if i not in foreign]
    assert len(ours) == 5

    aws.proxy.clear()
    run = aws.playbook("teardown.yml", {"osworld_fleet": "all", "osworld_teardown_network": True})
    assert run.rc == 0, run.stdout + run.stderr
    actions = aws.proxy.actions("ec2")
    assert actions.count("TerminateInstances") == 1
    assert actions.index("TerminateInstances") < actions.index("DeleteSecurityGroup")
    after = instance_states(aws.client())
    assert {after[i] for i in ours} == {"terminated"}
    assert {after[i] for i in foreign} == {"running"}
    managed = ec2.describe_security_groups(Filters=[{"Name": "tag:osworld:managed-by", "Values": ["osworld.aws"]}])["SecurityGroups"]
    assert managed == []
    assert ec2.describe_vpcs(Filters=[{"Name": "tag:osworld:managed-by", "Values": ["osworld.aws"]}])["Vpcs"] == []


def test_teardown_of_fleet_vms_costs_a_handful_of_calls_whatever_the_size(aws: AWSHarness) -> None:
    aws.provisioned()
    assert aws.playbook("envs.yml", {"osworld_env_count": 30}).rc == 0
    aws.proxy.clear()
    run = aws.playbook("envs.yml", {"osworld_env_count": 0})
    assert run.rc == 0
    assert aws.proxy.actions("ec2") == ["DescribeInstances", "TerminateInstances", "DescribeInstances"]
    assert set(instance_states(aws.client()).values()) == {"terminated"}
