"""evaluate.yml against moto with OSWorld's real AWS provider: the VMs it launches, progress, the
score, stopping, cleanup after a SIGKILL, the quota preflight and the model keys, all read back
from the emulator and the files on disk."""
from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.fault_state import tags_of
from tests.support.harness import AWSHarness, PlaybookRun
from tests.support.osworld_checkout import make_checkout, make_installed_venv

REGION = "eu-west-1"  # not in OSWorld's own IMAGE_ID_MAP (us-east-1 and ap-east-1 only)
AMI = "ami-0d23263edb96951d8"
INSTANCE_TYPE = "t3.small"  # not OSWorld's hard-coded t3.medium
SECRET = "sk-test-4f1e9c0d7b2a"
MODEL = "test-model"
# The held run's progress line; the minutes depend on how fast this machine is.
HELD_PROGRESS = re.compile(r"0/4 tasks done \(chrome 0/2, gimp 0/2\), 2 VMs running, \d+ min elapsed")


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_installed_venv(tmp_path_factory.mktemp("eval") / "venv")


@pytest.fixture
def stack(aws: AWSHarness) -> dict[str, str]:
    """The stack provision.yml makes, by hand: a subnet and the env security group, tagged so the lookup finds them."""
    ec2 = aws.client(region=REGION)
    vpc_id = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="172.31.250.0/24", AvailabilityZone=f"{REGION}a")["Subnet"]["SubnetId"]
    tags = {"osworld:managed-by": "osworld.aws", "osworld:stack": "osworld", "osworld:component": "env-security-group", "osworld:subnet": subnet_id}
    group_id = ec2.create_security_group(
        GroupName="osworld-env",
        Description="OSWorld env",
        VpcId=vpc_id,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}],
    )["GroupId"]
    return {"subnet_id": subnet_id, "group_id": group_id, "vpc_id": vpc_id}


@pytest.fixture
def checkout(tmp_path: Path) -> Iterator[Path]:
    root = make_checkout(tmp_path / "OSWorld")
    yield root
    # A failed test must not leave a runner behind.
    for state_file in (root / ".osworld-aws" / "runs").glob("*/state.json"):
        pid = json.loads(state_file.read_text())["pid"]
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def evaluate(aws: AWSHarness, checkout: Path, venv: Path, **overrides: Any) -> PlaybookRun:
    variables: dict[str, Any] = {
        "osworld_eval_hosts": "localhost",
        "osworld_region": REGION,
        "osworld_image_id_map": {REGION: {"1920x1080": AMI}},
        "osworld_instance_type": INSTANCE_TYPE,
        "osworld_client_dir": str(checkout),
        "osworld_eval_venv": str(venv),
        "osworld_eval_model": MODEL,
        "osworld_eval_num_envs": 2,
        "osworld_eval_run_id": "run-a",
        "osworld_eval_env": {"OPENAI_API_KEY": SECRET},
        "osworld_eval_wait": False,
        "osworld_eval_poll_interval": 0.2,
    }
    variables.update(overrides)
    return aws.playbook("evaluate.yml", variables)


def instances(aws: AWSHarness) -> list[dict[str, Any]]:
    pages = aws.client(region=REGION).get_paginator("describe_instances").paginate()
    return list(pages.search("Reservations[].Instances[]"))


def run_vms(aws: AWSHarness, run_id: str) -> list[dict[str, Any]]:
    return [item for item in instances(aws) if tags_of(item).get("osworld:run") == run_id]


def live(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [item for item in items if item["State"]["Name"] in ("pending", "running")]


def wait_until(condition: Any, what: str, limit: float = 120) -> None:
    """Waits for the detached runner (not a timed assertion: the limit only ends a hung test)."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.2)


def held_run_is_up(aws: AWSHarness, run_id: str, envs: int = 2) -> bool:
    """Each worker allocated a VM and replaced it for its first task: 2 launches per worker, 1 alive."""
    vms = run_vms(aws, run_id)
    return len(vms) == 2 * envs and len(live(vms)) == envs


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group; a zombie waits for a reaper that may never come in a container."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append(int(stat.parent.name))
    return members


def release_after_polls(aws: AWSHarness, checkout: Path, polls: int) -> None:
    wait_until(lambda: aws.proxy.actions("ec2", collection_only=True).count("DescribeInstances") >= polls, f"{polls} polls")
    (checkout / "hold").unlink()


def module_result(run: PlaybookRun) -> dict[str, Any]:
    (result,) = run.task_results("Start the evaluation")
    return result


def secret_free(*texts: str) -> bool:
    return all(SECRET not in text for text in texts)


def files_text(root: Path) -> str:
    return "".join(path.read_text(errors="replace") for path in root.rglob("*") if path.is_file() and path.suffix != ".gz")


def test_a_run_launches_the_maps_vms_reports_progress_and_scores_and_leaves_nothing_running(
    aws: AWSHarness, stack: dict[str, str], checkout: Path, venv: Path, tmp_path: Path
) -> None:
    (checkout / "hold").touch()
    started = evaluate(aws, checkout, venv)
    assert started.rc == 0, started.failure_messages() or started.stdout[-3000:]
    assert module_result(started)["changed"] and module_result(started)["running"]
    wait_until(lambda: held_run_is_up(aws, "run-a"), "the held run's VMs")

    # Launched by OSWorld's real provider, in spawn workers, with the collection's AMI and type in a
    # region OSWorld's own map lacks, and tagged at creation as the run's.
    for vm in run_vms(aws, "run-a"):
        assert (vm["ImageId"], vm["InstanceType"]) == (AMI, INSTANCE_TYPE)
        assert tags_of(vm)["osworld:managed-by"] == "osworld.aws" and tags_of(vm)["osworld:role"] == "env"
        assert "osworld:expires-at" in tags_of(vm)
    state_dir = checkout / ".osworld-aws" / "runs" / "run-a"
    assert (state_dir / "keys.json").stat().st_mode & 0o777 == 0o600
    assert state_dir.stat().st_mode & 0o777 == 0o700
    saw = json.loads((checkout / "runner-saw.json").read_text())
    assert saw["has_key"] is True
    assert saw["argv"][saw["argv"].index("--region") + 1] == REGION
    assert saw["argv"][saw["argv"].index("--num_envs") + 1] == "2"

    # A re-run while it runs starts nothing: one DescribeInstances for the progress line.
    aws.proxy.clear()
    again = evaluate(aws, checkout, venv)
    assert again.rc == 0 and again.changed == 0, again.failure_messages()
    assert HELD_PROGRESS.fullmatch(module_result(again)["progress"]), module_result(again)["progress"]
    assert aws.proxy.mutating_actions() == []
    # OSWorld's runner, in the background, may poll its own VMs meanwhile: those calls are not the playbook's.
    assert aws.proxy.actions("ec2", collection_only=True).count("DescribeInstances") == 1

    # Waiting: the run is released after two polls, so the wait prints lines before the score.
    aws.proxy.clear()
    release = threading.Thread(target=release_after_polls, args=(aws, checkout, 2))
    release.start()
    fetch_dir = tmp_path / "fetched"
    done = evaluate(aws, checkout, venv, osworld_eval_wait=True, osworld_eval_fetch_dir=str(fetch_dir))
    release.join()
    assert done.rc == 0, done.failure_messages() or done.stdout[-3000:]
    result = module_result(done)
    lines = result["progress_lines"]
    assert len(lines) >= 2 and all(re.fullmatch(rf"run-a: {HELD_PROGRESS.pattern}", line) for line in lines[:2]), lines
    assert re.search(rf"run-a: {HELD_PROGRESS.pattern}", done.stdout)

    summary = json.loads((checkout / "results" / "run-a" / "summary.json").read_text())
    assert result["summary"] == summary
    assert {key: summary[key] for key in ("run_id", "planned", "finished", "success_rate", "unscored", "outcome")} == {
        "run_id": "run-a",
        "planned": 4,
        "finished": 3,
        "success_rate": 0.5,
        "unscored": 1,
        "outcome": "finished",
    }
    assert summary["domains"] == {
        "chrome": {"planned": 2, "finished": 2, "success_rate": 0.5},
        "gimp": {"planned": 2, "finished": 1, "success_rate": 0.5},
    }
    assert summary["vm_hours"] >= 0 and summary["estimated_cost_usd"] is not None
    assert json.loads((fetch_dir / "run-a" / "summary.json").read_text()) == summary
    assert (fetch_dir / "run-a" / "results.tar.gz").stat().st_size > 0

    # Nothing of the run is left running, and OSWorld launched nothing untagged.
    assert len(run_vms(aws, "run-a")) == 6 and live(run_vms(aws, "run-a")) == []
    assert [vm for vm in instances(aws) if not tags_of(vm)] == []

    # The key is in no output, log, result or state file; its file is gone with the run.
    assert not (state_dir / "keys.json").exists()
    assert secret_free(started.stdout, started.stderr, again.stdout, again.stderr, done.stdout, done.stderr)
    assert secret_free(files_text(state_dir), files_text(checkout / "results"), files_text(fetch_dir))

    # A finished run is reported, not started again.
    aws.proxy.clear()
    final = evaluate(aws, checkout, venv)
    assert final.rc == 0 and final.changed == 0
    assert module_result(final)["summary"] == summary
    assert "RunInstances" not in aws.proxy.actions("ec2")


def launch(aws: AWSHarness, stack: dict[str, str], tags: dict[str, str] | None = None) -> str:
    request: dict[str, Any] = {
        "ImageId": AMI,
        "InstanceType": "t3.medium",
        "MinCount": 1,
        "MaxCount": 1,
        "NetworkInterfaces": [{"DeviceIndex": 0, "SubnetId": stack["subnet_id"], "Groups": [stack["group_id"]], "AssociatePublicIpAddress": True}],
    }
    if tags:
        request["TagSpecifications"] = [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
    return str(aws.client(region=REGION).run_instances(**request)["Instances"][0]["InstanceId"])


def test_a_killed_runners_vms_and_a_stopped_runs_vms_are_terminated_and_no_other_vm(
    aws: AWSHarness, stack: dict[str, str], checkout: Path, venv: Path
) -> None:
    managed = {"osworld:managed-by": "osworld.aws", "osworld:expires-at": "2999-01-01T00:00:00Z"}
    others = [
        launch(aws, stack, {**managed, "osworld:role": "env", "osworld:fleet": "default"}),
        launch(aws, stack, {**managed, "osworld:role": "host"}),
        launch(aws, stack, {**managed, "osworld:role": "env", "osworld:run": "another-run"}),
        launch(aws, stack),  # OSWorld's own, launched before the run began
    ]
    time.sleep(1.1)  # LaunchTime has whole seconds: the untagged VM above must predate the run

    (checkout / "hold").touch()
    assert evaluate(aws, checkout, venv).rc == 0
    wait_until(lambda: held_run_is_up(aws, "run-a"), "run-a's VMs")
    state = json.loads((checkout / ".osworld-aws" / "runs" / "run-a" / "state.json").read_text())
    os.killpg(state["pid"], signal.SIGKILL)

    found_dead = evaluate(aws, checkout, venv)
    assert found_dead.rc == 0, found_dead.failure_messages()
    result = module_result(found_dead)
    assert result["summary"]["outcome"] == "died" and result["summary"]["vms_terminated"] == 2
    assert result["summary"]["unscored"] == 4
    assert live(run_vms(aws, "run-a")) == []

    # run-b: the map lacks the region, so the AMI is copied there and the runner launches from the copy.
    copied = evaluate(
        aws, checkout, venv, osworld_eval_run_id="run-b", osworld_image_copy=True, osworld_image_id_map={"us-east-1": {"1920x1080": AMI}}
    )
    assert copied.rc == 0, copied.failure_messages()
    wait_until(lambda: held_run_is_up(aws, "run-b"), "run-b's VMs")
    (copy,) = aws.client(region=REGION).describe_images(Filters=[{"Name": "tag:osworld:component", "Values": ["image-copy"]}])["Images"]
    assert {vm["ImageId"] for vm in run_vms(aws, "run-b")} == {copy["ImageId"]} and copy["ImageId"] != AMI
    state = json.loads((checkout / ".osworld-aws" / "runs" / "run-b" / "state.json").read_text())
    stopped = evaluate(aws, checkout, venv, osworld_eval_run_id="run-b", osworld_eval_state="absent")
    assert stopped.rc == 0, stopped.failure_messages()
    assert module_result(stopped)["summary"]["outcome"] == "stopped"
    assert live(run_vms(aws, "run-b")) == []
    assert group_members(state["pid"]) == []
    assert not (checkout / ".osworld-aws" / "runs" / "run-b" / "state.json").exists()

    again = evaluate(aws, checkout, venv, osworld_eval_run_id="run-b", osworld_eval_state="absent")
    assert again.rc == 0 and again.changed == 0

    survivors = {vm["InstanceId"]: vm["State"]["Name"] for vm in instances(aws) if vm["InstanceId"] in others}
    assert survivors == {instance_id: "running" for instance_id in others}


def test_the_quota_preflight_refuses_a_run_too_big_before_any_launch(
    aws: AWSHarness, stack: dict[str, str], checkout: Path, venv: Path
) -> None:
    launch(aws, stack)  # a running t3.medium: 2 of the 8 vCPUs in use
    aws.proxy.service_quotas = {"L-1216C47A": 8.0}
    aws.proxy.clear()

    run = evaluate(aws, checkout, venv, osworld_eval_num_envs=4)

    assert run.rc != 0
    (message,) = run.failure_messages()
    assert "osworld_eval_num_envs: 4 x t3.small need 8 vCPUs" in message
    assert "is 8 and running instances already use 2, leaving 6" in message
    assert "RunInstances" not in aws.proxy.actions()
    assert not (checkout / ".osworld-aws" / "runs" / "run-a").exists()
    assert secret_free(run.stdout, run.stderr)


def test_a_type_not_offered_in_the_subnets_zone_is_refused_before_the_run_starts(
    aws: AWSHarness, stack: dict[str, str], checkout: Path, venv: Path
) -> None:
    aws.proxy.clear()

    run = evaluate(aws, checkout, venv, osworld_instance_type="t3.bogus")

    assert run.rc != 0
    (message,) = run.failure_messages()
    assert "osworld_instance_type: t3.bogus is not offered" in message, message
    assert aws.proxy.mutating_actions() == []
    assert not (checkout / ".osworld-aws" / "runs" / "run-a").exists()
