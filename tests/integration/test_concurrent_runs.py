"""Two envs.yml runs for the same fleet started at the same moment end at osworld_env_count,
through a proxy that honours RunInstances' ClientToken as AWS documents it (moto does not).

The proxy holds each run's first RunInstances until both have sent one, so both runs counted
the fleet before either launched: the race at its worst. Whatever the second run hears (the
first launch's answer for the same parameters, IdempotentParameterMismatch for others), it
launches nothing new.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.support.aws_proxy import Call
from tests.support.fault_state import tag_dict
from tests.support.harness import AWSHarness, PlaybookRun

COUNT = 3
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "aws_session_token": "testing"}


def fleet_instances(aws: AWSHarness, fleet: str) -> list[dict[str, Any]]:
    pages = aws.client().get_paginator("describe_instances").paginate(Filters=[{"Name": "tag:osworld:fleet", "Values": [fleet]}])
    return [instance for page in pages for reservation in page["Reservations"] for instance in reservation["Instances"]]


def hold_first_launches_until_both_arrive(aws: AWSHarness) -> threading.Barrier:
    barrier = threading.Barrier(2, timeout=300)
    seen = {"count": 0}
    lock = threading.Lock()

    def hold(call: Call) -> None:
        if call.action != "RunInstances":
            return
        with lock:
            seen["count"] += 1
            first_two = seen["count"] <= 2
        if first_two:
            barrier.wait()

    aws.proxy.before_forward = hold
    return barrier


@pytest.mark.parametrize("second_run_tags", [{}, {"job": "cron"}], ids=["same-parameters", "other-parameters"])
def test_two_runs_started_together_end_at_the_count(aws: AWSHarness, second_run_tags: dict[str, str]) -> None:
    ec2 = aws.client()
    vpc_id = ec2.create_vpc(CidrBlock="10.60.0.0/16")["Vpc"]["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.60.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    group_id = ec2.create_security_group(GroupName="envs", Description="envs", VpcId=vpc_id)["GroupId"]
    common = {"osworld_env_count": COUNT, "osworld_fleet": "race", "osworld_subnet_id": subnet_id, "osworld_security_group_id": group_id}
    aws.proxy.honour_client_tokens = True
    barrier = hold_first_launches_until_both_arrive(aws)

    with ThreadPoolExecutor(max_workers=2) as pool:
        runs: list[PlaybookRun] = list(
            pool.map(lambda extra: aws.playbook("envs.yml", {**common, "osworld_extra_tags": extra}), [{}, second_run_tags])
        )

    assert not barrier.broken, "both runs must have reached RunInstances"
    for run in runs:
        assert run.rc == 0, run.failure_messages() or run.stdout[-2000:]
    instances = fleet_instances(aws, "race")
    # Exactly COUNT VMs ever existed: none launched in excess and terminated afterwards.
    assert len(instances) == COUNT, [(i["InstanceId"], i["State"]["Name"]) for i in instances]
    assert {instance["State"]["Name"] for instance in instances} == {"running"}
    assert aws.proxy.mutating_actions().count("RunInstances") == 1
    assert "TerminateInstances" not in aws.proxy.mutating_actions()
    answered = sorted(call.injected or "moto" for call in aws.proxy.calls if call.action == "RunInstances")
    assert answered[0] == "moto" and answered[1:] in (["token-replay"], ["token-mismatch"])
    if second_run_tags:
        assert answered[1:] == ["token-mismatch"]
    assert all(tag_dict(instance.get("Tags"))["osworld:managed-by"] == "osworld.aws" for instance in instances)


def test_the_proxy_honours_client_tokens_only_when_asked(aws: AWSHarness) -> None:
    proxied = boto3.client("ec2", region_name="us-east-1", endpoint_url=aws.proxy.url, **CREDENTIALS)
    request = {"ImageId": "ami-0d23263edb96951d8", "InstanceType": "t3.micro", "MinCount": 1, "MaxCount": 1, "ClientToken": "same"}

    # Default: moto's own behaviour, a second launch for the same token.
    ids = {proxied.run_instances(**request)["Instances"][0]["InstanceId"] for attempt in range(2)}
    assert len(ids) == 2

    aws.proxy.honour_client_tokens = True
    request["ClientToken"] = "honoured"
    first = proxied.run_instances(**request)["Instances"][0]["InstanceId"]
    assert proxied.run_instances(**request)["Instances"][0]["InstanceId"] == first
    with pytest.raises(ClientError) as refused:
        proxied.run_instances(**{**request, "InstanceType": "t3.small"})
    assert refused.value.response["Error"]["Code"] == "IdempotentParameterMismatch"
    pages = aws.client().get_paginator("describe_instances").paginate()
    assert len(list(pages.search("Reservations[].Instances[]"))) == 3
