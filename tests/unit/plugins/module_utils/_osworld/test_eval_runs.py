"""eval_runs.py: run ids, the runner's command and environment, input checks, the launcher's map, and stopping a run."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.osworld.aws.plugins.module_utils._osworld.errors import OSWorldError
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

AMI = "ami-0d23263edb96951d8"
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
GROUP = "sg-0123456789abcdef0"


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
