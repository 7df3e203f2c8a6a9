# This module util is PRIVATE to the collection. It may change without notice.
"""One OSWorld evaluation run on its host: start it detached, watch it, stop it, and clean up.

A run lives in `<state_root>/<run id>/`: `state.json` (pid, start time, command, result dir),
`settings.json` (what the launcher's hook sets in OSWorld's provider), `keys.json` (the model keys,
0600), `runner.log`. The runner runs in its own session and process group, so it outlives the
Ansible connection and stopping it stops every worker it started.

"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from .defaults import DEFAULT_INSTANCE_TYPE, DEFAULT_NAME_PREFIX, DEFAULT_TTL_MINUTES
from .errors import OSWorldError
from .eval_results import Layout
from .images import DEFAULT_SCREEN_SIZE
from .options import Options, extra_tags_option, option
from .tags import EXPIRES_AT_KEY, MANAGED_BY_KEY, MANAGED_BY_VALUE, NAME_KEY, ROLE_ENV, ROLE_KEY, RUN_KEY, merge_extra_tags
from .timestamps import format_utc
from .validation import validate_screen_size

RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
STATE_FILE = "state.json"
SETTINGS_FILE = "settings.json"
KEYS_FILE = "keys.json"
LOG_FILE = "runner.log"
SUMMARY_FILE = "summary.json"
LAUNCHER = "osworld_eval_launch.py"
SETTINGS_ENV = "OSWORLD_AWS_EVAL_SETTINGS"
KEYS_ENV = "OSWORLD_AWS_EVAL_KEYS"
EXIT_ENV = "OSWORLD_AWS_EVAL_EXIT"
EXIT_FILE = "exit.json"
ARCHIVE_FILE = "results.tar.gz"
ENV_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
STOP_GRACE_SECONDS = 15.0

Now = Callable[[], datetime]


def absolute_path(value: str, name: str) -> str:  # pylint: disable=unused-argument  # a check's signature
    return os.path.abspath(value)


def given_env(value: Mapping[str, Any], name: str) -> dict[str, str]:  # pylint: disable=unused-argument  # a check's signature
    """An empty value is a key not given (AWX's credential injects every field, set or not)."""
    return {str(key): str(item) for key, item in value.items() if item not in (None, "")}


def text_files(value: Mapping[str, Any], name: str) -> dict[str, str]:  # pylint: disable=unused-argument  # a check's signature
    return {str(key): str(text) for key, text in value.items()}


@dataclass(frozen=True, kw_only=True)
class RunSpec(Options):
    """What the role asks for, the options of osworld.aws.eval_run; paths are absolute on the host.

    `wait`, `timeout` and `poll_interval` are read by the action plugin on the controller."""

    state: str = option("str", "started", choices=("started", "present", "absent"))
    run_id: str = option("str", "")
    checkout: str = option("path", required=True, checks=[absolute_path])
    state_root: str = option("path", required=True, checks=[absolute_path])
    venv: str = option("path", required=True, checks=[absolute_path])
    venv_python: str = option("str", "python3")
    requirements: str = option("str", "requirements.txt")
    launcher_dir: str = option("path", required=True, checks=[absolute_path])
    launcher_files: Mapping[str, str] = option("dict", {}, checks=[text_files])
    region: str
    subnet_id: str = option("str", required=True)
    security_group_id: str = option("str", required=True)
    model: str = option("str", "")
    num_envs: int = option("int", 1)
    domain: str = option("str", "all")
    test_meta: str = option("str", "evaluation_examples/test_all.json")
    result_dir: str = option("str", "")
    max_steps: int = option("int", 15)
    action_space: str = option("str", "pyautogui")
    observation_type: str = option("str", "screenshot")
    script: str = option("str", "scripts/python/run_multienv.py")
    args: Sequence[str] = option("list", [], elements="str")
    env: Mapping[str, str] = option("dict", {}, no_log=True, checks=[given_env])
    image_id_map: Mapping[str, Any] = option("dict", {})
    screen_size: str = option("str", DEFAULT_SCREEN_SIZE)
    instance_type: str = option("str", DEFAULT_INSTANCE_TYPE)
    ttl_minutes: int = option("int", DEFAULT_TTL_MINUTES)
    name_prefix: str = option("str", DEFAULT_NAME_PREFIX)
    extra_tags: Mapping[str, Any] = extra_tags_option()
    endpoint_url: str | None = None
    wait: bool = option("bool", False)
    timeout: int = option("int", 86400)
    poll_interval: float = option("float", 60)
    stop_reason: str = option("str", "stopped", choices=("stopped", "timed out"))

    def with_run_id(self, now: datetime) -> RunSpec:
        """This spec with its run id, `<model>-<domain>-<UTC date>` when none was given."""
        return self if self.run_id else replace(self, run_id=default_run_id(self.model, self.domain, now))

    @property
    def python(self) -> str:
        return os.path.join(self.venv, "bin", "python")

    @property
    def state_dir(self) -> str:
        return os.path.join(self.state_root, self.run_id)

    def path(self, relative: str) -> str:
        return relative if os.path.isabs(relative) else os.path.join(self.checkout, relative)

    @property
    def result_path(self) -> str:
        return self.path(self.result_dir or os.path.join("results", self.run_id))

    @property
    def layout(self) -> Layout:
        return Layout(self.result_path, self.action_space, self.observation_type, self.model)


def default_run_id(model: str, domain: str, now: datetime) -> str:
    """`<model>-<domain>-<UTC date>`, with anything a tag value or path would not like turned into '-'."""
    raw = f"{model}-{domain}-{now.astimezone(timezone.utc):%Y%m%d}"
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", raw).strip("-.")[:63] or "run"


def validate_run(spec: RunSpec, starting: bool) -> list[str]:
    """Every input problem at once, each naming its variable (no AWS call)."""
    problems = []
    if not RUN_ID_PATTERN.match(spec.run_id):
        problems.append(f"osworld_eval_run_id: '{spec.run_id}' must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit")
    if not starting:
        return problems
    if not spec.model:
        problems.append("osworld_eval_model: set the model to evaluate (e.g. o3)")
    if not 1 <= spec.num_envs <= 1000:
        problems.append(f"osworld_eval_num_envs: {spec.num_envs} must be 1-1000")
    if spec.max_steps < 1:
        problems.append(f"osworld_eval_max_steps: {spec.max_steps} must be at least 1")
    bad_names = sorted(name for name in spec.env if not ENV_NAME_PATTERN.match(name))
    if bad_names:
        problems.append(f"osworld_eval_env: {', '.join(bad_names)} not environment variable names")
    try:
        launcher_map(spec.image_id_map, spec.region, spec.screen_size)
    except OSWorldError as exc:
        problems.append(exc.message)
    if not os.path.isfile(spec.path(spec.script)):
        problems.append(f"osworld_eval_script: {spec.path(spec.script)} does not exist in the checkout")
    if not os.path.isfile(spec.path(spec.test_meta)):
        problems.append(f"osworld_eval_test_meta: {spec.path(spec.test_meta)} does not exist")
    return problems


def launcher_map(image_id_map: Mapping[str, Any], region: str, screen_size: str) -> dict[str, dict[str, str]]:
    """The map as the hook hands it to OSWorld: every region as {"WxH": ami}; a plain AMI is the screen size's."""
    validate_screen_size(screen_size, "osworld_screen_size")
    result: dict[str, dict[str, str]] = {}
    for name, entry in image_id_map.items():
        sizes = dict(entry) if isinstance(entry, Mapping) else {screen_size: entry}
        result[str(name)] = {str(size): str(ami) for size, ami in sizes.items()}
        for size in result[str(name)]:
            validate_screen_size(size, f"osworld_image_id_map['{name}']")
    if screen_size not in result.get(region, {}):
        raise OSWorldError(f"osworld_image_id_map: no AMI for {region} at {screen_size} (regions in the map: {', '.join(sorted(result)) or 'none'})")
    return result


def run_tags(spec: RunSpec) -> dict[str, str]:
    own = {MANAGED_BY_KEY: MANAGED_BY_VALUE, ROLE_KEY: ROLE_ENV, RUN_KEY: spec.run_id, NAME_KEY: f"{spec.name_prefix}-eval-{spec.run_id}"}
    return merge_extra_tags(own, spec.extra_tags)


def hook_settings(spec: RunSpec) -> dict[str, Any]:
    return {
        "image_id_map": launcher_map(spec.image_id_map, spec.region, spec.screen_size),
        "instance_type": spec.instance_type,
        "tags": run_tags(spec),
        "expires_at_key": EXPIRES_AT_KEY,
        "ttl_minutes": spec.ttl_minutes,
    }


def runner_command(spec: RunSpec) -> list[str]:
    return [
        spec.python,
        os.path.join(spec.launcher_dir, LAUNCHER),
        spec.path(spec.script),
        "--provider_name", "aws",
        "--region", spec.region,
        "--num_envs", str(spec.num_envs),
        "--model", spec.model,
        "--domain", spec.domain,
        "--test_all_meta_path", spec.test_meta,
        "--result_dir", spec.result_path,
        "--max_steps", str(spec.max_steps),
        "--action_space", spec.action_space,
        "--observation_type", spec.observation_type,
        *spec.args,
    ]  # fmt: skip


def runner_environment(spec: RunSpec, base: Mapping[str, str]) -> dict[str, str]:
    """The task's own environment plus the hook's variables; the model keys stay in their file."""
    env = dict(base)
    env["PYTHONPATH"] = os.pathsep.join(part for part in (spec.launcher_dir, spec.checkout, base.get("PYTHONPATH", "")) if part)
    env[SETTINGS_ENV] = os.path.join(spec.state_dir, SETTINGS_FILE)
    env[KEYS_ENV] = os.path.join(spec.state_dir, KEYS_FILE)
    env[EXIT_ENV] = os.path.join(spec.state_dir, EXIT_FILE)
    env["PYTHONUNBUFFERED"] = "1"
    if spec.endpoint_url:
        env["AWS_ENDPOINT_URL"] = spec.endpoint_url
    return env


# ---------------------------------------------------------------------------------------------
# Files and processes


def write_private(path: str, content: str) -> None:
    """Written 0600 from the first byte (never readable by others, even for a moment)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(content)


def write_json(path: str, data: Any) -> None:
    temporary = f"{path}.tmp"
    write_private(temporary, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(temporary, path)


def read_state(spec: RunSpec) -> dict[str, Any] | None:
    try:
        with open(os.path.join(spec.state_dir, STATE_FILE), encoding="utf-8") as handle:
            state: dict[str, Any] = json.load(handle)
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise OSWorldError(f"{spec.state_dir}/{STATE_FILE} is not readable JSON ({exc}); remove it to forget the run") from exc
    return state


def process_start_ticks(pid: int) -> str | None:
    """The kernel's start time of a pid (Linux), to tell our runner from a later process that got its pid."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # fields[0] is the state (field 3), so the start time (field 22) is fields[19]; a zombie has ended.
    return None if fields[0] in ("Z", "X") else fields[19]


def is_alive(state: Mapping[str, Any]) -> bool:
    pid = int(state.get("pid") or 0)
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if os.path.isdir("/proc"):
        ticks = process_start_ticks(pid)
        return ticks is not None and ticks == state.get("start_ticks", ticks)
    return True


def start_runner(spec: RunSpec, now: datetime, base_env: Mapping[str, str]) -> dict[str, Any]:
    os.makedirs(spec.state_dir, mode=0o700, exist_ok=True)
    os.chmod(spec.state_dir, 0o700)
    write_json(os.path.join(spec.state_dir, SETTINGS_FILE), hook_settings(spec))
    write_json(os.path.join(spec.state_dir, KEYS_FILE), dict(spec.env))
    os.makedirs(spec.result_path, exist_ok=True)
    for stale in (EXIT_FILE, ARCHIVE_FILE):
        if os.path.exists(os.path.join(spec.state_dir, stale)):
            os.remove(os.path.join(spec.state_dir, stale))
    command = runner_command(spec)
    log_path = os.path.join(spec.state_dir, LOG_FILE)
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        process = subprocess.Popen(  # pylint: disable=consider-using-with  # detached on purpose: it outlives this module
            command,
            cwd=spec.checkout,
            env=runner_environment(spec, base_env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    finally:
        os.close(log)
    state = {
        "run_id": spec.run_id,
        "pid": process.pid,
        "pgid": process.pid,
        "start_ticks": process_start_ticks(process.pid),
        "started_at": format_utc(now),
        "command": command,
        "result_dir": spec.result_path,
        "log": log_path,
        "region": spec.region,
        "finalized": False,
    }
    write_json(os.path.join(spec.state_dir, STATE_FILE), state)
    return state


def exit_outcome(spec: RunSpec) -> str:
    """How an ended runner ended, from the exit file the launcher writes (none: it was killed)."""
    try:
        with open(os.path.join(spec.state_dir, EXIT_FILE), encoding="utf-8") as handle:
            code = json.load(handle).get("exit_code")
    except (OSError, ValueError):
        return "died"
    return "finished" if code == 0 else "failed"


def group_members(pgid: int) -> list[int] | None:
    """The live (not zombie) processes of a process group, from /proc; None where there is no /proc."""
    if not os.path.isdir("/proc"):
        return None
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # fields[0] is the state (field 3), fields[2] the process group (field 5).
        if fields[0] not in ("Z", "X") and int(fields[2]) == pgid:
            members.append(int(entry))
    return members


def group_alive(state: Mapping[str, Any]) -> bool:
    """Any process of the run's group still alive: the runner, or workers that outlived it."""
    members = group_members(int(state["pgid"]))
    return bool(members) if members is not None else is_alive(state)


def stop_runner(state: Mapping[str, Any], grace: float = STOP_GRACE_SECONDS, sleep: Callable[[float], None] = time.sleep) -> bool:
    """SIGTERM to the run's process group (OSWorld terminates the VM it is allocating), SIGKILL after `grace`.

    Workers that outlived a dead runner are stopped too: while a group has members its id cannot be
    reused, so every process in it is the run's.
    """
    if not group_alive(state):
        return False
    pgid = int(state["pgid"])
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + wait
        while group_alive(state) and time.monotonic() < deadline:
            sleep(0.2)
        if not group_alive(state):
            return True
    raise OSWorldError(f"run {state.get('run_id')}: process group {pgid} survived SIGKILL")
