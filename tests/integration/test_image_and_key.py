"""Any region, any account: the OSWorld AMI copied into eu-west-1 and a key pair made for the user,
read back from moto; calls counted by the proxy. The whole stack from nothing to nothing in eu-west-1
runs as the least-privileged operator: test_iam.py's
test_operator_policy_runs_a_stack_in_eu_west_1_from_nothing_to_nothing."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tests.support.fault_runner import nth_call, run_killed
from tests.support.fault_state import image_copies, live_instances, tag_dict, tagged_leftovers
from tests.support.harness import AWSHarness

REGION = "eu-west-1"
AMI = "ami-0d23263edb96951d8"
WEST = {"AWS_REGION": REGION}


def stack_vars(key_file: Path, **extra: Any) -> dict[str, Any]:
    return {
        "osworld_region": REGION,
        "osworld_image_copy": True,
        "osworld_key_create": True,
        "osworld_key_file": str(key_file),
        "osworld_image_poll_interval": 1,
        "osworld_admin_cidrs": ["203.0.113.7/32"],
        **extra,
    }


def copies(aws: AWSHarness) -> list[dict[str, Any]]:
    return image_copies(aws.client(region=REGION))


def test_envs_alone_copies_and_keys_then_scaling_to_zero_makes_neither(aws: AWSHarness, tmp_path: Path) -> None:
    key_file = tmp_path / "k.pem"
    assert aws.playbook("provision.yml", {"osworld_region": REGION, "osworld_image_id_map": {REGION: AMI}}, env=WEST).rc == 0
    aws.proxy.clear()

    down = aws.playbook("envs.yml", stack_vars(key_file, osworld_env_count=0), env=WEST)
    assert down.rc == 0, down.failure_messages()
    assert "CopyImage" not in aws.proxy.actions() and "CreateKeyPair" not in aws.proxy.actions()

    up = aws.playbook("envs.yml", stack_vars(key_file, osworld_env_count=1), env=WEST)
    assert up.rc == 0, up.failure_messages()
    (copy,) = copies(aws)
    (vm,) = live_instances(aws.client(region=REGION))
    assert vm["ImageId"] == copy["ImageId"] and vm["KeyName"] == "osworld_key"
    (pair,) = aws.client(region=REGION).describe_key_pairs(KeyNames=["osworld_key"])["KeyPairs"]
    assert pair["KeyType"] == "ed25519" and tag_dict(pair.get("Tags"))["osworld:managed-by"] == "osworld.aws"
    (made,) = up.task_results("Make sure key pair")
    assert made["created"] and made["key_type"] == pair["KeyType"]


def test_envs_checks_the_account_before_it_copies_the_ami_or_makes_a_key_pair(aws: AWSHarness, tmp_path: Path) -> None:
    key_file = tmp_path / "k.pem"
    assert aws.playbook("provision.yml", {"osworld_region": REGION, "osworld_image_id_map": {REGION: AMI}}, env=WEST).rc == 0
    aws.proxy.clear()

    run = aws.playbook("envs.yml", stack_vars(key_file, osworld_env_count=1, osworld_instance_type="t3.colossal"), env=WEST)
    assert run.rc != 0
    assert any("osworld_instance_type" in message and "t3.colossal" in message for message in run.failure_messages()), run.failure_messages()
    assert aws.proxy.mutating_actions() == []
    assert copies(aws) == [] and not key_file.exists()
    assert aws.client(region=REGION).describe_key_pairs()["KeyPairs"] == []


def test_image_playbook_copies_once_and_teardown_of_images_alone(aws: AWSHarness) -> None:
    image = {"osworld_region": REGION, "osworld_image_poll_interval": 1}
    first = aws.playbook("image.yml", image, env=WEST)
    assert first.rc == 0, first.failure_messages()
    assert first.changed > 0
    (copy,) = copies(aws)
    aws.proxy.clear()
    again = aws.playbook("image.yml", image, env=WEST)
    assert again.rc == 0 and again.changed == 0
    assert aws.proxy.mutating_actions() == []
    assert copy["ImageId"] in again.stdout

    check = aws.playbook("teardown.yml", {"osworld_region": REGION, "osworld_teardown_images": True}, env=WEST, check=True)
    assert check.rc == 0 and copies(aws) != []
    down = aws.playbook("teardown.yml", {"osworld_region": REGION, "osworld_teardown_images": True}, env=WEST)
    assert down.rc == 0, down.failure_messages()
    assert tagged_leftovers(aws.client(region=REGION)) == {}


def test_check_mode_plans_the_copy_and_the_key_and_creates_nothing(aws: AWSHarness, tmp_path: Path) -> None:
    key_file = tmp_path / "k.pem"
    run = aws.playbook("provision.yml", stack_vars(key_file, osworld_env_count=2), env=WEST, check=True)
    assert run.rc == 0, run.failure_messages() or run.stdout[-3000:]
    assert aws.proxy.mutating_actions() == []
    assert not key_file.exists()


def test_without_image_copy_the_missing_ami_names_the_fix_before_anything_is_created(aws: AWSHarness) -> None:
    run = aws.playbook("provision.yml", {"osworld_region": REGION}, env=WEST)
    assert run.rc != 0
    (message,) = run.failure_messages()
    assert "osworld_image_copy: true" in message and "no AMI for region eu-west-1" in message
    assert aws.proxy.mutating_actions() == []


def test_an_existing_key_file_is_never_overwritten(aws: AWSHarness, tmp_path: Path) -> None:
    key_file = tmp_path / "taken.pem"
    key_file.write_text("my own key\n")
    run = aws.playbook("provision.yml", stack_vars(key_file), env=WEST)
    assert run.rc != 0
    assert any("osworld_key_file" in message and "never overwritten" in message for message in run.failure_messages())
    assert aws.proxy.mutating_actions() == []
    assert key_file.read_text() == "my own key\n"


def test_an_existing_key_pair_is_used_as_is_and_never_deleted(aws: AWSHarness, tmp_path: Path) -> None:
    ec2 = aws.client(region=REGION)
    ec2.create_key_pair(KeyName="mine")
    key_file = tmp_path / "mine.pem"
    stack = stack_vars(key_file, osworld_key_name="mine", osworld_image_id_map={REGION: AMI}, osworld_image_copy=False)
    run = aws.playbook("provision.yml", stack, env=WEST)
    assert run.rc == 0, run.failure_messages()
    assert "CreateKeyPair" not in aws.proxy.actions() and not key_file.exists()
    down = aws.playbook("teardown.yml", {**stack, "osworld_teardown_network": True}, env=WEST)
    assert down.rc == 0, down.failure_messages()
    assert [k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"]] == ["mine"]


def test_a_public_key_file_is_imported(aws: AWSHarness, tmp_path: Path) -> None:
    public = tmp_path / "id_ed25519.pub"
    public.write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ3ZLxuAkGv4Q0rY0m6k8J1bX1Gd0jYy1w4oLqv0tq8r me@laptop\n")
    stack = stack_vars(tmp_path / "unused.pem", osworld_key_public_file=str(public), osworld_image_id_map={REGION: AMI}, osworld_image_copy=False)
    run = aws.playbook("provision.yml", stack, env=WEST)
    assert run.rc == 0, run.failure_messages()
    (pair,) = aws.client(region=REGION).describe_key_pairs(KeyNames=["osworld_key"])["KeyPairs"]
    assert tag_dict(pair.get("Tags"))["osworld:component"] == "key-pair"
    assert "ImportKeyPair" in aws.proxy.actions() and "CreateKeyPair" not in aws.proxy.actions()
    assert not (tmp_path / "unused.pem").exists()
    assert sorted(os.listdir(tmp_path)) == ["id_ed25519.pub", "osworld.env"]


def test_an_image_teardown_killed_before_the_snapshot_went_leaves_nothing_after_a_rerun(aws: AWSHarness) -> None:
    image = {"osworld_region": REGION, "osworld_image_poll_interval": 1}
    assert aws.playbook("image.yml", image, env=WEST).rc == 0
    teardown = {**image, "osworld_teardown_images": True}
    # moto ignores DeleteAssociatedSnapshots, so the snapshot goes in a call of its own: killed as the
    # image is deregistered, before that call.
    killed = run_killed(aws, "teardown.yml", teardown, nth_call("DeregisterImage"), env=WEST)
    assert killed.killed
    ec2 = aws.client(region=REGION)
    assert copies(aws) == [] and list(tagged_leftovers(ec2)) == ["snapshots"]

    again = aws.playbook("teardown.yml", teardown, env=WEST)
    assert again.rc == 0, again.failure_messages()
    assert tagged_leftovers(ec2) == {}
