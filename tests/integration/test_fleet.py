"""envs.yml and osworld.aws.fleet against moto: exact counts, launch shape, check mode, a killed run."""
from __future__ import annotations

import signal
from datetime import datetime, timedelta, timezone
from typing import Any

from tests.support.aws_proxy import Call
from tests.support.fault_runner import nth_call, run_killed
from tests.support.fault_state import tags_of
from tests.support.harness import AWSHarness

AMI = "ami-0d23263edb96951d8"
LIVE = ["pending", "running", "stopping", "stopped"]


def instances(aws: AWSHarness, **tags: str) -> list[dict[str, Any]]:
    """Every instance in the account (any state), optionally only those carrying `tags`."""
    filters = [{"Name": f"tag:{key.replace('_', ':', 1)}", "Values": [value]} for key, value in tags.items()]
    pages = aws.client().get_paginator("describe_instances").paginate(Filters=filters)
    return sorted(pages.search("Reservations[].Instances[]"), key=lambda instance: instance["InstanceId"])


def live_fleet(aws: AWSHarness, fleet: str) -> list[str]:
    ec2 = aws.client()
    pages = ec2.get_paginator("describe_instances").paginate(
        Filters=[
            {"Name": "tag:osworld:fleet", "Values": [fleet]},
            {"Name": "tag:osworld:managed-by", "Values": ["osworld.aws"]},
            {"Name": "instance-state-name", "Values": LIVE},
        ]
    )
    return sorted(instance["InstanceId"] for instance in pages.search("Reservations[].Instances[]"))


def state_of(aws: AWSHarness) -> dict[str, str]:
    return {instance["InstanceId"]: instance["State"]["Name"] for instance in instances(aws)}


def stack_network(aws: AWSHarness) -> tuple[str, str]:
    group = aws.client().describe_security_groups(
        Filters=[{"Name": "tag:osworld:component", "Values": ["env-security-group"]}]
    )["SecurityGroups"][0]
    return tags_of(group)["osworld:subnet"], group["GroupId"]


def envs(aws: AWSHarness, count: int, fleet: str = "default", **extra: Any) -> Any:
    check = extra.pop("check", False)
    diff = extra.pop("diff", False)
    run = aws.playbook("envs.yml", {"osworld_env_count": count, "osworld_fleet": fleet, **extra}, check=check, diff=diff)
    return run


def fleet_result(run: Any) -> dict[str, Any]:
    results = run.task_results("have exactly")
    assert results, run.stdout
    return dict(results[0])


def test_scale_0_5_5_2_0_is_exact_and_a_rerun_makes_no_mutating_call(aws: AWSHarness) -> None:
    aws.provisioned()
    subnet_id, group_id = stack_network(aws)

    aws.proxy.clear()
    run = envs(aws, 5)
    assert run.rc == 0, run.stdout + run.stderr
    assert aws.proxy.actions().count("RunInstances") == 1
    assert "CreateTags" not in aws.proxy.actions()
    five = live_fleet(aws, "default")
    assert len(five) == 5
    result = fleet_result(run)
    assert sorted(result["launched"]) == five
    assert [vm["instance_id"] for vm in result["instances"]] == five

    for instance in instances(aws):
        assert instance["State"]["Name"] == "running"
        assert instance["ImageId"] == AMI
        assert instance["InstanceType"] == "t3.medium"
        assert instance["SubnetId"] == subnet_id
        assert instance["NetworkInterfaces"][0]["Groups"][0]["GroupId"] == group_id
        assert instance.get("PublicIpAddress")
        tags = tags_of(instance)
        assert tags["osworld:managed-by"] == "osworld.aws"
        assert tags["osworld:role"] == "env"
        assert tags["osworld:fleet"] == "default"
        assert tags["osworld:stack"] == "osworld"
        assert tags["Name"] == "osworld-env-default"
        expires = datetime.strptime(tags["osworld:expires-at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        assert timedelta(minutes=170) < expires - datetime.now(timezone.utc) <= timedelta(minutes=180)
    volumes = aws.client().describe_volumes(Filters=[{"Name": "attachment.instance-id", "Values": five}])["Volumes"]
    assert len(volumes) == 5
    assert {(volume["Size"], volume["VolumeType"]) for volume in volumes} == {(30, "gp3")}
    assert all(tags_of(volume)["osworld:fleet"] == "default" for volume in volumes)
    views = {vm["instance_id"]: vm for vm in result["instances"]}
    for instance in instances(aws):
        view = views[instance["InstanceId"]]
        assert view["vnc_url"] == f"http://{instance['PublicIpAddress']}:5910/vnc.html"
        assert view["private_ip"] == instance["PrivateIpAddress"]
        assert view["expires_at"] == tags_of(instance)["osworld:expires-at"]

    aws.proxy.clear()
    again = envs(aws, 5)
    assert again.rc == 0 and again.changed == 0
    assert aws.proxy.mutating_actions() == []
    assert len(aws.proxy.actions()) <= 5, aws.proxy.actions()
    assert live_fleet(aws, "default") == five

    launch_times = {instance["InstanceId"]: instance["LaunchTime"] for instance in instances(aws)}
    aws.proxy.clear()
    down = envs(aws, 2, diff=True)
    assert down.rc == 0 and down.changed == 1
    assert aws.proxy.mutating_actions() == ["TerminateInstances"]
    two = live_fleet(aws, "default")
    assert len(two) == 2 and set(two) <= set(five)
    removed = sorted(set(five) - set(two))
    assert max(launch_times[i] for i in two) <= min(launch_times[i] for i in removed) or len(set(launch_times.values())) == 1
    assert all(state == "terminated" for instance_id, state in state_of(aws).items() if instance_id in removed)
    diff = fleet_result(down)["diff"]
    assert diff["before"]["instance_ids"] == five and diff["after"]["instance_ids"] == two

    aws.proxy.clear()
    zero = envs(aws, 0)
    assert zero.rc == 0 and zero.changed == 1
    assert live_fleet(aws, "default") == []
    assert set(state_of(aws).values()) == {"terminated"}
    assert len(aws.proxy.actions()) <= 5


def test_two_fleets_side_by_side_never_touch_each_other(aws: AWSHarness) -> None:
    aws.provisioned()
    assert envs(aws, 3, "a").rc == 0
    assert envs(aws, 2, "b").rc == 0
    b = live_fleet(aws, "b")
    assert len(live_fleet(aws, "a")) == 3 and len(b) == 2

    assert envs(aws, 1, "a").rc == 0
    assert len(live_fleet(aws, "a")) == 1 and live_fleet(aws, "b") == b
    assert envs(aws, 0, "a").rc == 0
    assert live_fleet(aws, "a") == [] and live_fleet(aws, "b") == b
    aws.proxy.clear()
    assert envs(aws, 2, "b").changed == 0
    assert aws.proxy.mutating_actions() == []


def test_check_mode_reports_the_plan_and_changes_nothing(aws: AWSHarness) -> None:
    aws.provisioned()
    assert envs(aws, 2).rc == 0
    before = state_of(aws)

    aws.proxy.clear()
    up = envs(aws, 5, check=True, diff=True)
    assert up.rc == 0 and up.changed == 1
    assert aws.proxy.mutating_actions() == []
    result = fleet_result(up)
    assert result["planned"]["launch"] == 3 and result["launched"] == []
    assert result["diff"]["after"]["count"] == 5

    aws.proxy.clear()
    down = envs(aws, 0, check=True)
    assert down.rc == 0 and down.changed == 1
    assert aws.proxy.mutating_actions() == []
    assert sorted(fleet_result(down)["terminated"]) == sorted(before)
    assert state_of(aws) == before


def test_provision_with_env_count_launches_into_the_new_stack_and_check_mode_on_a_fresh_account_is_clean(aws: AWSHarness) -> None:
    check = aws.playbook("provision.yml", {"osworld_env_count": 3}, check=True)
    assert check.rc == 0, check.stdout + check.stderr
    assert aws.proxy.mutating_actions() == []
    assert instances(aws) == []

    run = aws.playbook("provision.yml", {"osworld_env_count": 3})
    assert run.rc == 0, run.stdout + run.stderr
    subnet_id, group_id = stack_network(aws)
    launched = instances(aws)
    assert len(launched) == 3
    assert {instance["SubnetId"] for instance in launched} == {subnet_id}
    assert {instance["NetworkInterfaces"][0]["Groups"][0]["GroupId"] for instance in launched} == {group_id}
    aws.proxy.clear()
    assert aws.playbook("provision.yml", {"osworld_env_count": 3}).changed == 0
    assert aws.proxy.mutating_actions() == []


def test_without_a_stack_it_fails_before_launching(aws: AWSHarness) -> None:
    run = envs(aws, 2)
    assert run.rc != 0
    assert any("run provision.yml first" in message for message in run.failure_messages()), run.stdout
    assert aws.proxy.mutating_actions() == []
    check = envs(aws, 2, check=True)
    assert check.rc != 0
    assert instances(aws) == []


def test_bad_input_fails_naming_the_variable_and_launches_nothing(aws: AWSHarness) -> None:
    aws.provisioned()
    aws.proxy.clear()
    run = envs(aws, 1, osworld_image_id_map={"eu-west-1": AMI})
    assert run.rc != 0
    assert any("image_id_map: no AMI for region us-east-1" in message for message in run.failure_messages()), run.stdout
    unknown = envs(aws, 1, osworld_image_id_map={"us-east-1": "ami-0123456789abcdef0"})
    assert any("does not exist" in message for message in unknown.failure_messages()), unknown.stdout
    key = envs(aws, 1, osworld_key_name="no-such-key")
    assert any("key_name: key pair 'no-such-key'" in message for message in key.failure_messages()), key.stdout
    assert aws.proxy.mutating_actions() == []
    assert instances(aws) == []


def test_explicit_network_key_screen_size_map_and_extra_tags(aws: AWSHarness) -> None:
    ec2 = aws.client()
    vpc_id = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.9.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    group_id = ec2.create_security_group(GroupName="mine", Description="mine", VpcId=vpc_id)["GroupId"]
    ec2.create_key_pair(KeyName="osworld_key")
    run = envs(
        aws,
        2,
        "x",
        osworld_subnet_id=subnet_id,
        osworld_security_group_id=group_id,
        osworld_key_name="osworld_key",
        osworld_screen_size="1280x720",
        osworld_image_id_map={"us-east-1": {"1920x1080": AMI, "1280x720": "ami-0a0e5d9c7acc336f1"}},
        osworld_extra_tags={"team": "eval", "osworld:fleet": "hijack"},
    )
    assert run.rc == 0, run.stdout + run.stderr
    launched = instances(aws)
    assert len(launched) == 2
    for instance in launched:
        assert instance["SubnetId"] == subnet_id
        assert instance["KeyName"] == "osworld_key"
        assert instance["ImageId"] == "ami-0a0e5d9c7acc336f1"
        assert tags_of(instance)["team"] == "eval"
        assert tags_of(instance)["osworld:fleet"] == "x"


def test_a_surplus_found_after_launching_is_terminated_so_the_count_is_exact(aws: AWSHarness) -> None:
    """A crashed earlier run whose launch becomes visible only now: the re-count catches it."""
    aws.provisioned()
    subnet_id, group_id = stack_network(aws)
    ec2 = aws.client()
    stray_tags = [
        {"Key": "osworld:managed-by", "Value": "osworld.aws"},
        {"Key": "osworld:role", "Value": "env"},
        {"Key": "osworld:fleet", "Value": "default"},
        {"Key": "osworld:expires-at", "Value": "2999-01-01T00:00:00Z"},
    ]
    injected: list[str] = []

    def late_launch(call: Call) -> None:
        # The proxy keeps the module's connection until this returns, so the strays exist before its next call.
        if call.action == "RunInstances" and not injected:
            reply = ec2.run_instances(
                ImageId=AMI,
                InstanceType="t3.medium",
                MinCount=2,
                MaxCount=2,
                NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": subnet_id, "Groups": [group_id]}],
                TagSpecifications=[{"ResourceType": "instance", "Tags": stray_tags}],
            )
            injected.extend(instance["InstanceId"] for instance in reply["Instances"])

    aws.proxy.after_call = late_launch
    run = envs(aws, 3)
    aws.proxy.after_call = None
    assert run.rc == 0, run.stdout + run.stderr
    assert len(injected) == 2
    assert len(live_fleet(aws, "default")) == 3
    assert aws.proxy.actions().count("RunInstances") == 1
    assert sorted(fleet_result(run)["terminated"]) and len(fleet_result(run)["terminated"]) == 2
    aws.proxy.clear()
    assert envs(aws, 3).changed == 0


def test_a_run_killed_right_after_run_instances_converges_on_rerun(aws: AWSHarness) -> None:
    aws.provisioned()
    # The whole process tree dies once moto has launched and before the answer reaches the module
    # (ansible-core's workers call setsid(), so killing ansible-playbook's group alone is not enough).
    killed = run_killed(aws, "envs.yml", {"osworld_env_count": 4}, nth_call("RunInstances"))
    assert killed.killed and killed.rc == -signal.SIGKILL
    assert len(instances(aws)) == 4

    aws.proxy.clear()
    rerun = envs(aws, 4)
    assert rerun.rc == 0, rerun.stdout + rerun.stderr
    assert "RunInstances" not in aws.proxy.actions()
    everything = instances(aws)
    assert len(everything) == 4, "no duplicate launched"
    assert {instance["State"]["Name"] for instance in everything} == {"running"}
    assert all(tags_of(instance)["osworld:managed-by"] == "osworld.aws" for instance in everything), "no untagged orphan"
    assert sorted(instance["InstanceId"] for instance in everything) == live_fleet(aws, "default")


def test_fleet_all_only_tears_down(aws: AWSHarness) -> None:
    aws.provisioned()
    run = envs(aws, 2, "all")
    assert run.rc != 0
    assert any("fleet: 'all' only tears" in message for message in run.failure_messages())
    assert instances(aws) == []


def test_backend_wait_is_bounded_and_says_why(aws: AWSHarness) -> None:
    aws.provisioned()
    run = envs(aws, 1, osworld_wait_for_backend=True, osworld_env_wait_timeout=2)
    assert run.rc != 0
    assert any("OSWorld backend not answering after 2 s" in message for message in run.failure_messages()), run.stdout
    assert len(live_fleet(aws, "default")) == 1
