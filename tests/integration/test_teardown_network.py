"""teardown.yml with osworld_teardown_network against moto: what blocks the groups is named before
anything is deleted, and the OSWorld client's own VMs go first when asked."""
from __future__ import annotations

from typing import Any

from tests.support.fault_state import managed_resources, tag_dict
from tests.support.harness import AWSHarness

AMI = "ami-0d23263edb96951d8"


def env_group(aws: AWSHarness) -> dict[str, Any]:
    groups = aws.client().describe_security_groups(Filters=[{"Name": "tag:osworld:component", "Values": ["env-security-group"]}])
    return dict(groups["SecurityGroups"][0])


def client_vm(aws: AWSHarness, group: dict[str, Any]) -> str:
    """What OSWorld's client launches: untagged, the env group on its network interface."""
    interface = {"DeviceIndex": 0, "SubnetId": tag_dict(group["Tags"])["osworld:subnet"], "Groups": [group["GroupId"]]}
    launched = aws.client().run_instances(ImageId=AMI, InstanceType="t3.medium", MinCount=1, MaxCount=1, NetworkInterfaces=[interface])
    return str(launched["Instances"][0]["InstanceId"])


def state_of(aws: AWSHarness, instance_id: str) -> str:
    reservations = aws.client().describe_instances(InstanceIds=[instance_id])["Reservations"]
    return str(reservations[0]["Instances"][0]["State"]["Name"])


def fleet_ids(aws: AWSHarness, fleet: str) -> list[str]:
    reservations = aws.client().describe_instances(
        Filters=[{"Name": "tag:osworld:fleet", "Values": [fleet]}, {"Name": "instance-state-name", "Values": ["running"]}]
    )["Reservations"]
    return sorted(instance["InstanceId"] for reservation in reservations for instance in reservation["Instances"])


def test_network_teardown_names_what_blocks_the_groups_then_terminates_client_vms_when_asked(aws: AWSHarness) -> None:
    aws.provisioned()
    assert aws.playbook("envs.yml", {"osworld_fleet": "a", "osworld_env_count": 1}).rc == 0
    assert aws.playbook("envs.yml", {"osworld_fleet": "b", "osworld_env_count": 1}).rc == 0
    group = env_group(aws)
    client = client_vm(aws, group)
    (other_fleet,) = fleet_ids(aws, "b")
    before = managed_resources(aws.client())

    blocked = aws.playbook("teardown.yml", {"osworld_fleet": "a", "osworld_teardown_network": True})

    assert blocked.rc != 0
    (message,) = blocked.failure_messages()
    assert f"{other_fleet} (fleet b, running)" in message, message
    assert f"{client} (OSWorld client, running)" in message, message
    assert "osworld_teardown_client_vms=true" in message and "osworld_fleet=all" in message
    assert "DeleteSecurityGroup" not in aws.proxy.actions()
    assert managed_resources(aws.client()) == before, "nothing deleted while something blocks"
    assert state_of(aws, client) == "running" and state_of(aws, other_fleet) == "running"

    done = aws.playbook("teardown.yml", {"osworld_fleet": "all", "osworld_teardown_network": True, "osworld_teardown_client_vms": True})

    assert done.rc == 0, done.failure_messages()
    assert state_of(aws, client) == "terminated"
    assert all(not ids for ids in managed_resources(aws.client()).values())


def test_client_vms_stay_unless_asked_and_check_mode_terminates_nothing(aws: AWSHarness) -> None:
    aws.provisioned()
    client = client_vm(aws, env_group(aws))
    aws.proxy.clear()

    check = aws.playbook("teardown.yml", {"osworld_teardown_network": True, "osworld_teardown_client_vms": True}, check=True)
    assert check.rc == 0, check.failure_messages()
    assert aws.proxy.mutating_actions() == []
    (planned,) = [result for result in check.task_results("security groups") if "client_vms_terminated" in result]
    assert planned["client_vms_terminated"] == [client]

    refused = aws.playbook("teardown.yml", {"osworld_teardown_network": True})
    assert refused.rc != 0
    assert f"{client} (OSWorld client, running)" in refused.failure_messages()[0]
    assert state_of(aws, client) == "running"
