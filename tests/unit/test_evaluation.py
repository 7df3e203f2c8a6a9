"""Evaluation runs' pure parts: scores and progress from a results tree, VM-hours and cost, which VMs
belong to a run, run ids, the launcher's map and tags, and the price table docs/costs.md shows."""
from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from ansible_collections.osworld.aws.plugins.module_utils._osworld.errors import OSWorldError
from ansible_collections.osworld.aws.plugins.module_utils._osworld.eval_install import ensure_files
from ansible_collections.osworld.aws.plugins.module_utils._osworld.eval_results import (
    Layout,
    collect_scores,
    ended_at,
    estimated_cost,
    load_plan,
    progress_line,
    score_summary,
    vm_hours,
)
from ansible_collections.osworld.aws.plugins.module_utils._osworld.eval_runs import (
    RunSpec,
    default_run_id,
    group_members,
    is_alive,
    launcher_map,
    process_start_ticks,
    runner_command,
    runner_environment,
    stop_runner,
    validate_run,
)
from ansible_collections.osworld.aws.plugins.module_utils._osworld.evaluation import is_run_vm
from ansible_collections.osworld.aws.plugins.module_utils._osworld.prices import INSTANCE_USD_PER_HOUR, VM_OVERHEAD_USD_PER_HOUR

REPO = Path(__file__).resolve().parents[2]
AMI = "ami-0d23263edb96951d8"
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
GROUP = "sg-0123456789abcdef0"


def write_results(root: Path, scores: dict[str, str]) -> Layout:
    layout = Layout(str(root / "results"), "pyautogui", "screenshot", "o3")
    for path, score in scores.items():
        task_dir = Path(layout.root) / path
        task_dir.mkdir(parents=True)
        (task_dir / "result.txt").write_text(score)
    return layout


def test_scores_progress_and_unscored_tasks(tmp_path: Path) -> None:
    meta = tmp_path / "test_all.json"
    meta.write_text(json.dumps({"chrome": ["c1", "c2"], "gimp": ["g1", "g2"], "vlc": ["v1"]}))
    layout = write_results(tmp_path, {"chrome/c1": "1.0\n", "chrome/c2": "0", "gimp/g1": "0.5", "gimp/other": "1"})
    plan = load_plan(str(meta), "all")
    summary = score_summary(plan, collect_scores(layout, plan))
    assert summary == {
        "planned": 5,
        "finished": 3,
        "success_rate": 0.5,
        "unscored": 2,
        "domains": {
            "chrome": {"planned": 2, "finished": 2, "success_rate": 0.5},
            "gimp": {"planned": 2, "finished": 1, "success_rate": 0.5},
            "vlc": {"planned": 1, "finished": 0, "success_rate": 0.0},
        },
    }
    assert progress_line(summary, 20, 41 * 60 + 59) == "3/5 tasks done (chrome 2/2, gimp 1/2, vlc 0/1), 20 VMs running, 41 min elapsed"
    one = load_plan(str(meta), "gimp")
    assert score_summary(one, collect_scores(layout, one))["planned"] == 2


def test_a_bad_meta_file_or_domain_names_the_variable(tmp_path: Path) -> None:
    meta = tmp_path / "test_all.json"
    meta.write_text(json.dumps({"chrome": ["c1"]}))
    with pytest.raises(OSWorldError, match="osworld_eval_domain: 'gimp' is not a domain"):
        load_plan(str(meta), "gimp")
    with pytest.raises(OSWorldError, match="osworld_eval_test_meta"):
        load_plan(str(tmp_path / "missing.json"), "all")


def vm(launched: datetime, state: str = "running", reason: str = "", tags: dict[str, str] | None = None, groups: tuple[str, ...] = (GROUP,)) -> dict[str, Any]:
    return {
        "InstanceId": "i-1",
        "InstanceType": "t3.medium",
        "LaunchTime": launched,
        "State": {"Name": state},
        "StateTransitionReason": reason,
        "Tags": [{"Key": key, "Value": value} for key, value in (tags or {}).items()],
        "SecurityGroups": [],
        "NetworkInterfaces": [{"Groups": [{"GroupId": group} for group in groups]}],
    }


def test_vm_hours_run_from_launch_to_termination_or_now() -> None:
    ended = vm(NOW - timedelta(hours=3), "terminated", "User initiated (2026-01-01 11:00:00 GMT)")
    assert ended_at(ended, NOW) == NOW - timedelta(hours=1)
    running = vm(NOW - timedelta(minutes=30))
    assert vm_hours([ended, running], NOW) == 2.5
    price = INSTANCE_USD_PER_HOUR["us-east-1"]["t3.medium"] + VM_OVERHEAD_USD_PER_HOUR
    assert estimated_cost([ended, running], "us-east-1", NOW) == round(2.5 * price, 4)
    assert estimated_cost([running], "mars-north-1", NOW) is None


def test_a_runs_vms_are_its_tagged_ones_and_untagged_env_vms_launched_after_it_began() -> None:
    run = {"osworld:managed-by": "osworld.aws", "osworld:role": "env", "osworld:run": "r1"}
    assert is_run_vm(vm(NOW - timedelta(hours=1), tags=run), "r1", NOW, {GROUP})
    assert not is_run_vm(vm(NOW, tags={**run, "osworld:run": "r2"}), "r1", NOW, {GROUP})
    assert not is_run_vm(vm(NOW, tags={"osworld:managed-by": "osworld.aws", "osworld:role": "env", "osworld:fleet": "default"}), "r1", NOW, {GROUP})
    assert not is_run_vm(vm(NOW, tags={"osworld:managed-by": "osworld.aws", "osworld:role": "host"}), "r1", NOW, {GROUP})
    assert is_run_vm(vm(NOW + timedelta(seconds=5)), "r1", NOW + timedelta(microseconds=500), {GROUP})
    assert not is_run_vm(vm(NOW - timedelta(seconds=1)), "r1", NOW, {GROUP})
    assert not is_run_vm(vm(NOW + timedelta(seconds=5), groups=(GROUP, "sg-0fffffffffffffff0")), "r1", NOW, {GROUP})
    assert not is_run_vm(vm(NOW + timedelta(seconds=5), tags={"team": "x"}), "r1", NOW, {GROUP})


def spec(tmp_path: Path, **overrides: Any) -> RunSpec:
    values: dict[str, Any] = {
        "run_id": "o3-chrome-20260101",
        "checkout": str(tmp_path),
        "state_root": str(tmp_path / ".osworld-aws" / "runs"),
        "venv": str(tmp_path / "venv"),
        "launcher_dir": str(tmp_path / "launcher"),
        "region": "eu-west-1",
        "subnet_id": "subnet-0123456789abcdef0",
        "security_group_id": GROUP,
        "model": "o3",
        "num_envs": 20,
        "domain": "chrome",
        "image_id_map": {"eu-west-1": AMI},
        "args": ["--sleep_after_execution", "3"],
        "env": {"OPENAI_API_KEY": "sk-secret"},
        "endpoint_url": "http://127.0.0.1:5000",
    }
    values.update(overrides)
    return RunSpec(**values)


def test_run_ids_and_the_runner_command(tmp_path: Path) -> None:
    assert default_run_id("o3", "chrome", NOW) == "o3-chrome-20260101"
    assert default_run_id("claude/opus 4", "all", NOW) == "claude-opus-4-all-20260101"
    command = runner_command(spec(tmp_path))
    assert command[:3] == [
        str(tmp_path / "venv" / "bin" / "python"),
        str(tmp_path / "launcher" / "osworld_eval_launch.py"),
        str(tmp_path / "scripts/python/run_multienv.py"),
    ]
    flags = dict(zip(command[3:-2:2], command[4:-2:2]))
    assert flags == {
        "--provider_name": "aws",
        "--region": "eu-west-1",
        "--num_envs": "20",
        "--model": "o3",
        "--domain": "chrome",
        "--test_all_meta_path": "evaluation_examples/test_all.json",
        "--result_dir": str(tmp_path / "results" / "o3-chrome-20260101"),
        "--max_steps": "15",
        "--action_space": "pyautogui",
        "--observation_type": "screenshot",
    }
    assert command[-2:] == ["--sleep_after_execution", "3"]
    assert "sk-secret" not in " ".join(command)


def test_the_runner_environment_names_the_hook_and_never_holds_a_key(tmp_path: Path) -> None:
    env = runner_environment(spec(tmp_path), {"PATH": "/usr/bin", "PYTHONPATH": "/opt/lib"})
    assert env["PYTHONPATH"].split(os.pathsep) == [str(tmp_path / "launcher"), str(tmp_path), "/opt/lib"]
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5000"
    assert env["OSWORLD_AWS_EVAL_KEYS"].endswith("/keys.json")
    assert "sk-secret" not in json.dumps(env)


def test_inputs_are_all_reported_at_once(tmp_path: Path) -> None:
    problems = validate_run(spec(tmp_path, run_id="bad id", model="", num_envs=0, env={"1BAD": "x"}, image_id_map={}), starting=True)
    text = " ".join(problems)
    for variable in ("osworld_eval_run_id", "osworld_eval_model", "osworld_eval_num_envs", "osworld_eval_env", "osworld_image_id_map", "osworld_eval_script"):
        assert variable in text


def test_the_launcher_map_is_keyed_as_osworld_keys_it() -> None:
    assert launcher_map({"eu-west-1": AMI, "us-east-1": {"1920x1080": "ami-1"}}, "eu-west-1", "1920x1080") == {
        "eu-west-1": {"1920x1080": AMI},
        "us-east-1": {"1920x1080": "ami-1"},
    }
    with pytest.raises(OSWorldError, match="osworld_image_id_map: no AMI for ap-south-1"):
        launcher_map({"eu-west-1": AMI}, "ap-south-1", "1920x1080")


def load_hook() -> ModuleType:
    path = REPO / "roles" / "evaluation" / "files" / "launcher" / "sitecustomize.py"
    spec_ = importlib.util.spec_from_file_location("osworld_hook_under_test", path)
    assert spec_ is not None and spec_.loader is not None
    module = importlib.util.module_from_spec(spec_)
    os.environ.pop("OSWORLD_AWS_EVAL_SETTINGS", None)
    spec_.loader.exec_module(module)
    return module


def test_the_hook_converts_the_map_and_adds_the_runs_tags_to_a_launch() -> None:
    hook = load_hook()
    assert hook.OSWORLD_AWS_HOOK is False  # no settings file: nothing installed
    settings = {"image_id_map": {"eu-west-1": {"1920x1080": AMI}}, "instance_type": "t3.small", "tags": {"osworld:run": "r1"}, "ttl_minutes": 60}
    assert hook.image_id_map(settings) == {"eu-west-1": {(1920, 1080): AMI}}
    params: dict[str, Any] = {"TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "osworld:run", "Value": "x"}, {"Key": "own", "Value": "1"}]}]}
    hook.add_tag_specifications(params, hook.launch_tags(settings, NOW))
    by_type = {item["ResourceType"]: {tag["Key"]: tag["Value"] for tag in item["Tags"]} for item in params["TagSpecifications"]}
    assert by_type["instance"] == {"own": "1", "osworld:run": "r1", "osworld:expires-at": "2026-01-01T13:00:00Z"}
    assert set(by_type) == {"instance", "volume", "network-interface"}
    assert not any(isinstance(finder, hook.ManagerHook) for finder in sys.meta_path)


def test_launcher_files_are_written_only_when_they_differ(tmp_path: Path) -> None:
    assert ensure_files(str(tmp_path / "launcher"), {"a.py": "x = 1"}, check_mode=True)
    assert not (tmp_path / "launcher").exists()
    assert ensure_files(str(tmp_path / "launcher"), {"a.py": "x = 1"}, check_mode=False)
    assert (tmp_path / "launcher" / "a.py").read_text() == "x = 1\n"
    assert not ensure_files(str(tmp_path / "launcher"), {"a.py": "x = 1\n"}, check_mode=False)


def test_docs_costs_shows_the_price_table_the_code_uses() -> None:
    text = (REPO / "docs" / "costs.md").read_text()
    section = text.split("<!-- prices:start -->")[1].split("<!-- prices:end -->")[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| instance type") and not line.startswith("|---")]
    header = next(line for line in section.splitlines() if line.startswith("| instance type"))
    regions = [cell.strip() for cell in header.strip("|").split("|")][1:]
    shown: dict[str, dict[str, float]] = {region: {} for region in regions}
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        for region, price in zip(regions, cells[1:]):
            shown[region][cells[0]] = float(price)
    assert shown == INSTANCE_USD_PER_HOUR
    assert re.search(rf"\$?{VM_OVERHEAD_USD_PER_HOUR}", section)


def test_stopping_a_run_stops_its_whole_process_group_and_only_it(tmp_path: Path) -> None:
    """A runner whose worker outlives it: the group is stopped; a process outside it is not."""
    script = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); time.sleep(600)"
    runner = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
    try:
        state = {"run_id": "r", "pid": runner.pid, "pgid": runner.pid, "start_ticks": process_start_ticks(runner.pid)}
        deadline = time.monotonic() + 60  # ends a hung test only
        while len(group_members(runner.pid) or []) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert is_alive(state)
        assert stop_runner(state, grace=5)
        runner.wait()
        assert group_members(runner.pid) == [] and not is_alive(state)
        assert bystander.poll() is None
        assert not stop_runner(state)
    finally:
        for process in (runner, bystander):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
