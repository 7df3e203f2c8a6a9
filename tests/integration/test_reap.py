"""reap.yml against moto: expired and old client VMs go, every other VM stays."""
from __future__ import annotations

from typing import Any

from tests.support.fault_state import instance_states, tags_of
from tests.support.harness import AWSHarness

AMI = "ami-0d23263edb96951d8"
PAST = "2020-01-01T00:00:00Z"
FUTURE = "2999-01-01T00:00:00Z"


def stack_network(aws: AWSHarness) -> tuple[str, str, str]:
    group = aws.client().describe_security_groups(
        Filters=[{"Name": "tag:osworld:component", "Values": ["env-security-group"]}]
    )["SecurityGroups"][0]
    return tags_of(group)["osworld:subnet"], group["GroupId"], group["VpcId"]


def launch(aws: AWSHarness, subnet_id: str, groups: list[str], tags: dict[str, str] | None = None, on_interface: bool = True) -> str:
    """One VM; with on_interface, the way OSWorld's client launches (groups on the interface, no tags)."""
    request: dict[str, Any] = {"ImageId": AMI, "InstanceType": "t3.medium", "MinCount": 1, "MaxCount": 1}
    if on_interface:
        request["NetworkInterfaces"] = [{"DeviceIndex": 0, "SubnetId": subnet_id, "Groups": groups, "AssociatePublicIpAddress": True}]
    else:
        request.update(SubnetId=subnet_id, SecurityGroupIds=groups)
    if tags:
        request["TagSpecifications"] = [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
    return str(aws.client().run_instances(**request)["Instances"][0]["InstanceId"])


def collection_tags(expires: str, fleet: str = "f", role: str = "env") -> dict[str, str]:
    return {"osworld:managed-by": "osworld.aws", "osworld:role": role, "osworld:fleet": fleet, "osworld:expires-at": expires}


def reap_result(run: Any) -> dict[str, Any]:
    return dict(run.task_results("Terminate OSWorld VMs past")[0])


def test_reap_takes_expired_and_old_client_vms_and_nothing_else(aws: AWSHarness) -> None:
    aws.provisioned()
    subnet_id, env_group, vpc_id = stack_network(aws)
    ec2 = aws.client()
    other_group = ec2.create_security_group(GroupName="someone-else", Description="not OSWorld", VpcId=vpc_id)["GroupId"]

    # The collection's VMs: a fleet launched already due (ttl 0), and one with time left.
    assert aws.playbook("envs.yml", {"osworld_fleet": "due", "osworld_env_count": 2, "osworld_ttl_minutes": 0}).rc == 0
    assert aws.playbook("envs.yml", {"osworld_fleet": "live", "osworld_env_count": 1}).rc == 0
    vm = [instance_id for instance_id, state in instance_states(aws.client()).items() if state == "running"]
    reservations = ec2.describe_instances(Filters=[{"Name": "tag:osworld:fleet", "Values": ["due"]}])["Reservations"]
    due = sorted(instance["InstanceId"] for reservation in reservations for instance in reservation["Instances"])
    assert len(due) == 2 and len(vm) == 3
    expired_by_hand = launch(aws, subnet_id, [env_group], collection_tags(PAST, "manual"))
    # OSWorld client VMs: untagged, the env group on the interface (moto fills only NetworkInterfaces).
    client = launch(aws, subnet_id, [env_group])
    client_classic = launch(aws, subnet_id, [env_group], on_interface=False)
    # Never to be touched.
    foreign_untagged = launch(aws, subnet_id, [other_group])
    beside_env_group = launch(aws, subnet_id, [env_group, other_group])
    foreign_tagged_past = launch(aws, subnet_id, [env_group], {"osworld:managed-by": "someone-else", "osworld:expires-at": PAST})
    unreadable = launch(aws, subnet_id, [env_group], {**collection_tags("garbage"), "osworld:fleet": "x"})
    no_expiry = launch(aws, subnet_id, [env_group], {"osworld:managed-by": "osworld.aws", "osworld:role": "env"})
    expired_host = launch(aws, subnet_id, [other_group], collection_tags(PAST, role="host"))
    live = [i for i in vm if i not in due]
    untouchable = [foreign_untagged, beside_env_group, foreign_tagged_past, unreadable, no_expiry, expired_host, *live]

    before = instance_states(aws.client())
    aws.proxy.clear()
    check = aws.playbook("reap.yml", check=True)
    assert check.rc == 0, check.stdout + check.stderr
    assert aws.proxy.mutating_actions() == []
    assert instance_states(aws.client()) == before
    assert sorted(vm["instance_id"] for vm in reap_result(check)["reaped"]) == sorted([*due, expired_by_hand])

    aws.proxy.clear()
    run = aws.playbook("reap.yml")
    assert run.rc == 0, run.stdout + run.stderr
    assert aws.proxy.mutating_actions() == ["TerminateInstances"]
    after = instance_states(aws.client())
    assert {i for i, s in after.items() if s == "terminated"} == {*due, expired_by_hand}
    assert after[client] == after[client_classic] == "running", "young client VMs are kept"
    kept = {vm["instance_id"]: vm["reason"] for vm in reap_result(run)["kept"]}
    assert "never reaped" in kept[unreadable] and "never reaped" in kept[no_expiry]
    assert any("no readable expiry" in warning for warning in reap_result(run)["warnings"])

    # Old enough now: the client VMs go, by launch time against the TTL.
    aws.proxy.clear()
    old = aws.playbook("reap.yml", {"osworld_ttl_minutes": 0})
    assert old.rc == 0, old.stdout
    after = instance_states(aws.client())
    assert after[client] == after[client_classic] == "terminated"
    assert {vm["reason"] for vm in reap_result(old)["reaped"]} == {"untagged client VM past ttl"}
    for instance_id in untouchable:
        assert after[instance_id] == "running", instance_id

    aws.proxy.clear()
    again = aws.playbook("reap.yml", {"osworld_ttl_minutes": 0})
    assert again.rc == 0 and again.changed == 0
    assert aws.proxy.mutating_actions() == []
    assert len(aws.proxy.actions()) <= 5, aws.proxy.actions()

    hosts = aws.playbook("reap.yml", {"osworld_reap_include_hosts": True})
    assert hosts.rc == 0
    assert instance_states(aws.client())[expired_host] == "terminated"


def test_an_adopted_env_group_counts_only_when_named(aws: AWSHarness) -> None:
    ec2 = aws.client()
    vpc_id = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.7.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    adopted = ec2.create_security_group(GroupName="adopted", Description="adopted", VpcId=vpc_id)["GroupId"]
    client = launch(aws, subnet_id, [adopted])

    first = aws.playbook("reap.yml", {"osworld_ttl_minutes": 0})
    assert first.rc == 0 and first.changed == 0
    assert instance_states(aws.client())[client] == "running"

    named = aws.playbook("reap.yml", {"osworld_ttl_minutes": 0, "osworld_reap_security_group_ids": [adopted]})
    assert named.rc == 0, named.stdout
    assert instance_states(aws.client())[client] == "terminated"


def test_reap_on_an_empty_account_changes_nothing(aws: AWSHarness) -> None:
    run = aws.playbook("reap.yml")
    assert run.rc == 0 and run.changed == 0
    assert aws.proxy.mutating_actions() == []
