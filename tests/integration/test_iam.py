"""Least privilege, for real: every playbook and the inventory run as a user holding only
policies/operator.json, on a moto server that enforces IAM; a missing action is named in the error.

See tests/support/fault_iam.py for what moto checks (actions) and what it cannot (resources and
conditions, checked in tests/unit/test_policies.py).
"""
from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.fault_iam import IAMEnforcingAccount, actions_of, load_policy, moto_view, without_action
from tests.support.fault_state import fleet_instances, image_copies, live_instances, managed_resources, tag_dict, tagged_leftovers
from tests.support.harness import REPO, VENV_BIN, AWSHarness, PlaybookRun

PLAYBOOKS = REPO / "playbooks"
INVENTORY = REPO / "inventory" / "osworld_ec2.yml"
# The OSWorld AMI of the default image map (us-east-1): the source of an eu-west-1 copy.
SOURCE_AMI = "ami-0d23263edb96951d8"
# Actions in operator.json that this test's scenario cannot reach on the emulator: each with why.
NOT_EXERCISED = {
    "ec2:DescribeInstanceTypes": "the vCPU quota check of a type quota.py does not list, after Service Quotas answers (moto's does not)",
    "ec2:ReplaceRoute": "a default route someone pointed elsewhere",
    "ec2:DescribeNetworkInterfaces": "a group or network still in use after the release retries: the error names its interfaces",
    "iam:PassRole": "checked by EC2 when RunInstances passes the host's role; never called, and moto does not check it",
    "ec2:StartInstances": "a host someone stopped",
    "iam:TagInstanceProfile": "a tag someone removed from the host's instance profile",
    "iam:TagRole": "a tag someone removed from a role",
    "iam:UpdateAssumeRolePolicy": "a trust policy someone edited",
    "iam:UpdateRole": "a role description someone edited",
    "ec2:CreateTags": "a tag someone removed from a group or the host (tags are otherwise set at creation)",
}
# osworld_image_copy and osworld_key_create: exercised in another region by
# test_operator_policy_runs_a_stack_in_eu_west_1_from_nothing_to_nothing below.
IMAGE_AND_KEY_ACTIONS = {
    "ec2:CopyImage",
    "ec2:CreateKeyPair",
    "ec2:DeleteKeyPair",
    "ec2:DeleteSnapshot",
    "ec2:DeregisterImage",
    "ec2:DescribeSnapshots",
    "ec2:ImportKeyPair",
}


def run_as(harness: AWSHarness, user: dict[str, str], playbook: str, extra_vars: dict[str, Any] | None = None) -> PlaybookRun:
    run = harness.playbook(playbook, extra_vars, env=user)
    assert run.rc == 0, f"{playbook} as the operator: {run.failure_messages()}\n{run.stdout[-3000:]}"
    return run


def present(playbook: str) -> bool:
    return (PLAYBOOKS / playbook).exists()


def test_operator_policy_runs_every_playbook_and_the_inventory(tmp_path: Path) -> None:
    with IAMEnforcingAccount() as account:
        harness = AWSHarness(account.server, tmp_path)
        try:
            exercise_every_playbook(account, harness)
        finally:
            harness.close()


def exercise_every_playbook(account: IAMEnforcingAccount, harness: AWSHarness) -> None:
    policy = load_policy("operator.json")
    operator = account.user_with_policy("osworld-operator", moto_view(policy))
    ec2 = account.client()
    ec2.create_key_pair(KeyName="osworld_key")
    stack = {"osworld_host_launch": True, "osworld_enable_ttl": True, "osworld_key_name": "osworld_key", "osworld_admin_cidrs": ["203.0.113.7/32"]}
    if present("envs.yml"):
        stack["osworld_env_count"] = 2

    run_as(harness, operator, "provision.yml", stack)
    again = run_as(harness, operator, "provision.yml", stack)
    assert again.changed == 0

    # Drift someone caused by hand: extra rules, a deleted one, an edited description, a removed tag.
    groups = {tag_dict(g.get("Tags")).get("osworld:component"): g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"]}
    group_id = groups["env-security-group"]
    anywhere = [{"CidrIp": "0.0.0.0/0"}]
    ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389, "IpRanges": anywhere}])
    ec2.authorize_security_group_egress(GroupId=group_id, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 25, "ToPort": 25, "IpRanges": anywhere}])
    ec2.revoke_security_group_egress(GroupId=groups["host-security-group"], IpPermissions=[{"IpProtocol": "-1", "IpRanges": anywhere}])
    ec2.update_security_group_rule_descriptions_ingress(
        GroupId=group_id,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "203.0.113.7/32", "Description": "edited"}]}],
    )
    ec2.delete_tags(Resources=[group_id], Tags=[{"Key": "Name"}])
    repaired = run_as(harness, operator, "provision.yml", stack)
    assert repaired.changed > 0
    repaired_group = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    assert 3389 not in {p.get("FromPort") for p in repaired_group["IpPermissions"]}
    assert "Name" in tag_dict(repaired_group.get("Tags"))

    if present("envs.yml"):
        run_as(harness, operator, "envs.yml", {"osworld_env_count": 3})
        noop = run_as(harness, operator, "envs.yml", {"osworld_env_count": 3})
        assert noop.changed == 0
        assert len(fleet_instances(ec2, "default")) == 3
    if present("reap.yml"):
        run_as(harness, operator, "reap.yml")
    if INVENTORY.exists():
        listed = subprocess.run(
            [str(VENV_BIN / "ansible-inventory"), "-i", str(INVENTORY), "--list"],
            cwd=REPO, env=harness.env(operator), capture_output=True, text=True, timeout=300, check=False,
        )
        assert listed.returncode == 0, listed.stderr[-2000:]
        groups = json.loads(listed.stdout)
        if present("envs.yml"):
            assert len(groups["osworld_envs"]["hosts"]) == 3
    if present("envs.yml"):
        run_as(harness, operator, "envs.yml", {"osworld_env_count": 0})
        run_as(harness, operator, "envs.yml", {"osworld_env_count": 1})
    run_as(harness, operator, "teardown.yml")
    run_as(harness, operator, "teardown.yml", {"osworld_teardown_network": True, "osworld_teardown_host": True})

    assert live_instances(ec2) == []
    assert all(not ids for ids in managed_resources(ec2).values()), managed_resources(ec2)
    roles = [role["RoleName"] for role in account.client("iam").list_roles()["Roles"]]
    assert not [name for name in roles if name.startswith("osworld-")]

    # Every call the emulator did not refuse for lack of permission (some answer 400 by design, e.g. Service Quotas).
    called = {f"{call.service}:{call.action}" for call in harness.proxy.calls if call.status != 403}
    unused = actions_of(policy) - called - set(NOT_EXERCISED) - IMAGE_AND_KEY_ACTIONS
    assert not unused, f"operator.json grants actions no playbook used: {sorted(unused)}"
    assert called <= actions_of(policy)


def test_operator_policy_runs_a_stack_in_eu_west_1_from_nothing_to_nothing(tmp_path: Path) -> None:
    """Any region, as the operator: the OSWorld AMI copied into eu-west-1, a key pair made for the user
    (and one imported), two VMs and the host launched from them, a re-run that changes nothing, and
    teardown back to nothing, read back from moto, with nothing more than operator.json."""
    west = "eu-west-1"
    key_file = tmp_path / "ssh" / "osworld_key-eu-west-1.pem"
    public = tmp_path / "id_ed25519.pub"
    public.write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ3ZLxuAkGv4Q0rY0m6k8J1bX1Gd0jYy1w4oLqv0tq8r me@laptop\n")
    stack = {
        "osworld_region": west,
        "osworld_image_copy": True,
        "osworld_key_create": True,
        "osworld_key_file": str(key_file),
        "osworld_image_poll_interval": 1,
        "osworld_admin_cidrs": ["203.0.113.7/32"],
        "osworld_env_count": 2,
        "osworld_host_launch": True,
    }
    with IAMEnforcingAccount() as account:
        harness = AWSHarness(account.server, tmp_path)
        try:
            operator = {**account.user_with_policy("osworld-operator", moto_view(load_policy("operator.json"))), "AWS_REGION": west}
            ec2 = account.client(region=west)
            run = run_as(harness, operator, "provision.yml", stack)

            (copy,) = image_copies(ec2)
            tags = tag_dict(copy.get("Tags"))
            assert tags["osworld:source-image"] == SOURCE_AMI and tags["osworld:screen-size"] == "1920x1080"
            assert tags["osworld:stack"] == "osworld" and tags["osworld:component"] == "image-copy"
            assert copy["State"] == "available"
            assert harness.proxy.actions().count("CopyImage") == 1
            (pair,) = ec2.describe_key_pairs(KeyNames=["osworld_key"])["KeyPairs"]
            assert pair["KeyType"] == "ed25519" and tag_dict(pair.get("Tags"))["osworld:managed-by"] == "osworld.aws"
            vms = live_instances(ec2)
            envs = [vm for vm in vms if tag_dict(vm.get("Tags")).get("osworld:role") == "env"]
            (host,) = [vm for vm in vms if tag_dict(vm.get("Tags")).get("osworld:role") == "host"]
            assert len(envs) == 2 and {vm["ImageId"] for vm in envs} == {copy["ImageId"]}
            assert {vm.get("KeyName") for vm in [*envs, host]} == {"osworld_key"}
            assert account.client().describe_instances()["Reservations"] == [], "nothing launched in us-east-1"

            assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
            private = key_file.read_text()
            assert private.startswith("-----BEGIN")
            body = [line for line in private.splitlines() if line and not line.startswith("-----")]
            assert body and not any(line in run.stdout + run.stderr for line in body)
            assert f"ssh -i {key_file} ubuntu@{host['PublicIpAddress']}" in run.stdout
            written = (tmp_path / "osworld.env").read_text().splitlines()
            assert "AWS_REGION=eu-west-1" in written

            first_calls = list(harness.proxy.calls)
            harness.proxy.clear()
            again = run_as(harness, operator, "provision.yml", stack)
            assert again.changed == 0 and harness.proxy.mutating_actions() == []
            assert key_file.read_text() == private

            imported = subprocess.run(
                [str(VENV_BIN / "ansible"), "localhost", "-m", "osworld.aws.key_pair", "-a", f"name=imported public_key_file={public}"],
                cwd=tmp_path, env=harness.env(operator), capture_output=True, text=True, timeout=300, check=False,
            )
            assert imported.returncode == 0, imported.stdout[-2000:]

            # An AMI the collection did not copy, in the same region: teardown never deregisters it.
            foreign = ec2.register_image(Name="someone-elses", RootDeviceName="/dev/sda1")["ImageId"]
            teardown = {"osworld_region": west, "osworld_teardown_network": True, "osworld_teardown_images": True, "osworld_key_file": str(key_file)}
            down = run_as(harness, operator, "teardown.yml", teardown)
            assert f"its private key stays in {key_file}" in down.stdout
            assert key_file.read_text() == private
            assert not any(line in down.stdout + down.stderr for line in body)
            assert {image["ImageId"] for image in ec2.describe_images(ImageIds=[foreign, SOURCE_AMI])["Images"]} == {foreign, SOURCE_AMI}
            # No image of this account is left but the foreign one, tagged or not.
            assert [image["ImageId"] for image in ec2.describe_images(Owners=["self"])["Images"]] == [foreign]
            assert tagged_leftovers(ec2) == {"key_pairs": ["imported"]}
            run_as(harness, operator, "teardown.yml", {"osworld_region": west, "osworld_key_name": "imported", "osworld_teardown_network": True})
            assert tagged_leftovers(ec2) == {}
            assert ec2.describe_key_pairs()["KeyPairs"] == []
        finally:
            harness.close()
    called = {f"{call.service}:{call.action}" for call in [*first_calls, *harness.proxy.calls] if call.status != 403}
    assert IMAGE_AND_KEY_ACTIONS <= called, sorted(IMAGE_AND_KEY_ACTIONS - called)
    assert called <= actions_of(load_policy("operator.json")), sorted(called - actions_of(load_policy("operator.json")))


@pytest.mark.parametrize(
    ("action", "playbook", "operation"),
    [
        ("ec2:AuthorizeSecurityGroupIngress", "provision.yml", "authorize_security_group_ingress"),
        ("ec2:DescribeImages", "provision.yml", None),
        ("ec2:CreateVpc", "provision.yml", "create_vpc"),
    ],
)
def test_a_missing_action_is_named_in_the_error(tmp_path: Path, action: str, playbook: str, operation: str | None) -> None:
    with IAMEnforcingAccount() as account:
        harness = AWSHarness(account.server, tmp_path)
        try:
            user = account.user_with_policy("osworld-short", moto_view(without_action(load_policy("operator.json"), action)))
            run = harness.playbook(playbook, env=user)
            assert run.rc != 0
            (message,) = run.failure_messages()
            assert action in message, message
            assert "AccessDenied" in message
            if operation:
                assert message.startswith(f"{operation} failed: AccessDenied")
            else:
                assert "grant it (see policies/operator.json)" in message
            assert "Traceback" not in run.stdout + run.stderr
        finally:
            harness.close()
