"""osworld_manage_iam=false under IAM enforcement: an administrator made the host and TTL roles,
the operator's policy has no OwnHostAndSchedulerRoles statement, and the collection makes no IAM
write (nor any IAM call it would need a permission for) while provisioning and tearing down."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from tests.support.fault_iam import IAMEnforcingAccount, load_policy, moto_view
from tests.support.fault_state import live_instances, managed_resources, tag_dict
from tests.support.harness import AWSHarness

HOST_ROLE = "osworld-host-us-east-1"
TTL_ROLE = "osworld-ttl-scheduler-us-east-1"
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def without_statement(policy: dict[str, Any], sid: str) -> dict[str, Any]:
    trimmed = copy.deepcopy(policy)
    trimmed["Statement"] = [statement for statement in trimmed["Statement"] if statement.get("Sid") != sid]
    assert len(trimmed["Statement"]) == len(policy["Statement"]) - 1
    return trimmed


def admin_made_roles(account: IAMEnforcingAccount) -> str:
    iam = account.client("iam")
    iam.create_role(RoleName=HOST_ROLE, AssumeRolePolicyDocument=json.dumps(TRUST))
    iam.create_instance_profile(InstanceProfileName=HOST_ROLE)
    iam.add_role_to_instance_profile(InstanceProfileName=HOST_ROLE, RoleName=HOST_ROLE)
    return str(iam.create_role(RoleName=TTL_ROLE, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"])


def test_admin_made_roles_need_no_iam_permission_and_are_never_written_or_deleted(tmp_path: Path) -> None:
    with IAMEnforcingAccount() as account:
        harness = AWSHarness(account.server, tmp_path)
        try:
            ttl_arn = admin_made_roles(account)
            operator = account.user_with_policy("osworld-operator", moto_view(without_statement(load_policy("operator.json"), "OwnHostAndSchedulerRoles")))
            stack = {"osworld_host_launch": True, "osworld_enable_ttl": True, "osworld_manage_iam": False, "osworld_admin_cidrs": ["203.0.113.7/32"]}

            run = harness.playbook("provision.yml", stack, env=operator)

            assert run.rc == 0, run.failure_messages() or run.stdout[-3000:]
            (host,) = [vm for vm in live_instances(account.client()) if tag_dict(vm.get("Tags")).get("osworld:role") == "host"]
            assert host["IamInstanceProfile"]["Arn"].endswith(f":instance-profile/{HOST_ROLE}")
            assert dotenv_values(harness.workdir / "osworld.env")["AWS_SCHEDULER_ROLE_ARN"] == ttl_arn
            # Preflight's existence check of the admin's roles is read-only, and its denial only a warning.
            (checked,) = run.task_results("Check the inputs")
            assert any("could not check that the instance profile" in warning for warning in checked.get("warnings", []))

            teardown = harness.playbook("teardown.yml", {**stack, "osworld_teardown_network": True}, env=operator)

            assert teardown.rc == 0, teardown.failure_messages()
            assert live_instances(account.client()) == []
            assert all(not ids for ids in managed_resources(account.client()).values())
            iam = account.client("iam")
            assert iam.get_role(RoleName=TTL_ROLE)["Role"]["Arn"] == ttl_arn
            assert [role["RoleName"] for role in iam.get_instance_profile(InstanceProfileName=HOST_ROLE)["InstanceProfile"]["Roles"]] == [HOST_ROLE]
            iam_calls = [call.action for call in harness.proxy.calls if call.service == "iam"]
            assert [action for action in iam_calls if not action.startswith(("Get", "List"))] == [], iam_calls
            assert all(call.status != 403 for call in harness.proxy.calls if call.service != "iam"), "only the optional IAM reads may be denied"
        finally:
            harness.close()
