# This module util is PRIVATE to the collection. It may change without notice.
"""evaluate.yml's state machine for one run id: started, present (a poll), absent.

- started: with no run of that id, the inputs and the account are checked (no VM is launched on a
  failure), then the runner starts detached. A run that is still running is only reported
  (changed=false); one that has ended is cleaned up and reported, never started again.
- present: one poll (progress line, 1 DescribeInstances); a run found ended is cleaned up: its
  VMs terminated, summary.json written, the results archived.
- absent: the process group is stopped, the run cleaned up, and its state forgotten so the id can
  be used again; with no state left, VMs still tagged with the run id are terminated.

The run's VMs are those the launcher's hook tagged `osworld:run=<run id>` at creation, plus any
untagged VM in the env security group (OSWorld's own launches) started after the run: never
another run's, a fleet's or the host's. Costs: a poll is 1 DescribeInstances (the env subnet,
one page per 1,000 VMs); the end of a run adds 1 TerminateInstances per 1,000 live VMs and 1
DescribeInstances per poll until they are terminated.
"""
from __future__ import annotations

import os
import tarfile
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from .aws import AWS
from .client_vms import is_client_vm
from .defaults import DEFAULT_WAIT_TIMEOUT
from .errors import OSWorldError
from .eval_install import install
from .eval_results import COST_NOTE, collect_scores, estimated_cost, load_plan, progress_line, score_summary, vm_hours
from .eval_runs import (
    ARCHIVE_FILE,
    KEYS_FILE,
    SETTINGS_FILE,
    STATE_FILE,
    SUMMARY_FILE,
    Now,
    RunSpec,
    exit_outcome,
    is_alive,
    read_state,
    start_runner,
    stop_runner,
    validate_run,
    write_json,
)
from .instances import LIVE_STATES, describe_instances, terminate, wait_for_state
from .quota import ERROR, check_quota
from .tags import MANAGED_BY_KEY, MANAGED_BY_VALUE, RUN_KEY, filters, tag_dict
from .timestamps import format_utc, parse_utc

TERMINATE_TIMEOUT = DEFAULT_WAIT_TIMEOUT

STARTED = "started"
PRESENT = "present"
ABSENT = "absent"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def check_account(aws: AWS, spec: RunSpec) -> tuple[list[str], list[str]]:
    """The subnet and env group of the .env exist, and the vCPU quota minus what runs holds the run."""
    problems: list[str] = []
    for operation, key, resource, variable in (
        ("describe_subnets", "SubnetIds", spec.subnet_id, "AWS_SUBNET_ID (osworld_stack.subnet_id)"),
        ("describe_security_groups", "GroupIds", spec.security_group_id, "AWS_SECURITY_GROUP_ID (osworld_stack.env_security_group_id)"),
    ):
        ids: dict[str, Any] = {key: [resource]}
        if aws.call("ec2", operation, missing_ok=True, **ids) is None:
            problems.append(f"the .env's {variable} {resource} does not exist in {spec.region}: run provision.yml, then evaluate.yml again")
    verdict = check_quota(aws, spec.instance_type, spec.num_envs, "osworld_eval_num_envs")
    if verdict.level == ERROR:
        problems.append(verdict.message)
    return problems, [verdict.message] if verdict.level and verdict.level != ERROR else []


def archive_results(spec: RunSpec) -> str:
    """A tarball of the run's result dir, beside its state, for the controller to fetch."""
    path = os.path.join(spec.state_dir, ARCHIVE_FILE)
    temporary = f"{path}.tmp"
    with tarfile.open(temporary, "w:gz") as archive:
        archive.add(spec.result_path, arcname=spec.run_id)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)
    return path


def is_run_vm(instance: Mapping[str, Any], run_id: str, started_at: datetime, env_group_ids: set[str]) -> bool:
    """Tagged with this run's id, or an untagged OSWorld VM in the env group launched after the run began."""
    tags = tag_dict(instance.get("Tags"))
    if tags.get(MANAGED_BY_KEY) == MANAGED_BY_VALUE:
        return tags.get(RUN_KEY) == run_id
    if not is_client_vm(instance, tags, env_group_ids):
        return False
    launched = parse_utc(instance.get("LaunchTime"))
    # LaunchTime has whole seconds.
    return launched is not None and launched >= started_at.replace(microsecond=0)


def run_vms(aws: AWS, spec: RunSpec, started_at: datetime) -> list[dict[str, Any]]:
    """Every VM of the run in any state, from one DescribeInstances of the env subnet."""
    instances = describe_instances(aws, filters(subnet_id=spec.subnet_id))
    return [item for item in instances if is_run_vm(item, spec.run_id, started_at, {spec.security_group_id})]


def live(instances: Sequence[Mapping[str, Any]]) -> list[str]:
    return sorted(str(item["InstanceId"]) for item in instances if item.get("State", {}).get("Name") in LIVE_STATES)


def progress(aws: AWS, spec: RunSpec, state: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """One poll: the results tree against the plan, and one DescribeInstances."""
    started_at = parse_utc(state["started_at"]) or now
    plan = load_plan(spec.path(spec.test_meta), spec.domain)
    summary = score_summary(plan, collect_scores(spec.layout, plan))
    vms = run_vms(aws, spec, started_at)
    running = sum(1 for item in vms if item.get("State", {}).get("Name") in ("pending", "running"))
    elapsed = (now - started_at).total_seconds()
    return {"line": progress_line(summary, running, elapsed), "scores": summary, "vms": vms, "vms_running": running, "elapsed_seconds": int(elapsed)}


def finalize(aws: AWS, spec: RunSpec, state: dict[str, Any], outcome: str, now: Now, sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Terminates every live VM of the run, writes summary.json and the results tarball; returns the summary."""
    started_at = parse_utc(state["started_at"]) or now()
    vms = run_vms(aws, spec, started_at)
    doomed = live(vms)
    if doomed:
        terminate(aws, doomed)
        wait_for_state(aws, doomed, "terminated", TERMINATE_TIMEOUT, sleep)
    ended = now()
    plan = load_plan(spec.path(spec.test_meta), spec.domain)
    summary = {
        "run_id": spec.run_id,
        **score_summary(plan, collect_scores(spec.layout, plan)),
        "vms_terminated": len(doomed),
        "vm_hours": vm_hours(vms, ended),
        "estimated_cost_usd": estimated_cost(vms, spec.region, ended),
        "cost_note": COST_NOTE,
        "outcome": outcome,
        "model": spec.model,
        "region": spec.region,
        "instance_type": spec.instance_type,
        "started_at": state["started_at"],
        "ended_at": format_utc(ended),
    }
    os.makedirs(spec.result_path, exist_ok=True)
    write_json(os.path.join(spec.result_path, SUMMARY_FILE), summary)
    # The keys are needed no longer than the runner is.
    try:
        os.remove(os.path.join(spec.state_dir, KEYS_FILE))
    except FileNotFoundError:
        pass
    state.update(finalized=True, outcome=outcome, summary=summary)
    write_json(os.path.join(spec.state_dir, STATE_FILE), state)
    return summary


def sweep_tagged(aws: AWS, spec: RunSpec) -> list[str]:
    """With no state file left: terminates the live VMs still tagged with the run's id (normally none)."""
    tagged = describe_instances(
        aws, filters(**{f"tag:{RUN_KEY}": spec.run_id, f"tag:{MANAGED_BY_KEY}": MANAGED_BY_VALUE, "instance_state_name": list(LIVE_STATES)})
    )
    doomed = live(tagged)
    if doomed:
        terminate(aws, doomed)
    return doomed


def report(spec: RunSpec, state: Mapping[str, Any] | None, **values: Any) -> dict[str, Any]:
    result: dict[str, Any] = {
        "run_id": spec.run_id,
        "state_dir": spec.state_dir,
        "result_dir": spec.result_path,
        "summary_file": os.path.join(spec.result_path, SUMMARY_FILE),
        "archive": os.path.join(spec.state_dir, ARCHIVE_FILE),
        "running": False,
        "summary": None,
        "progress": "",
    }
    if state:
        result.update(pid=state.get("pid"), started_at=state.get("started_at"), command=state.get("command"), log=state.get("log"))
        if state.get("finalized"):
            result.update(summary=state.get("summary"), outcome=state.get("outcome"))
    result.update(values)
    result["message"] = describe(result)
    return result


def describe(result: Mapping[str, Any]) -> str:
    """One line for the play's output: the score once the run has ended, else its progress."""
    summary = result.get("summary")
    if summary:
        cost = summary.get("estimated_cost_usd")
        return (
            f"{result['run_id']}: {summary.get('outcome')}, {summary['finished']}/{summary['planned']} tasks scored, "
            f"success rate {summary['success_rate'] * 100:.1f} %, {summary['unscored']} unscored, {summary['vms_terminated']} VMs terminated, "
            f"{summary['vm_hours']} VM-hours, about {f'${cost:.2f}' if cost is not None else 'an unknown cost'} (approximate)"
        )
    if result.get("running"):
        return f"{result['run_id']}: running (pid {result.get('pid')}), {result.get('progress')}"
    if result.get("would_start"):
        return f"{result['run_id']}: would start (check mode)"
    return f"{result['run_id']}: no run"


def end_run(aws: AWS, spec: RunSpec, state: dict[str, Any], outcome: str, now: Now, sleep: Callable[[float], None]) -> dict[str, Any]:
    summary = finalize(aws, spec, state, outcome, now, sleep)
    archive_results(spec)
    return summary


def ensure_run(
    aws: AWS,
    spec: RunSpec,
    wanted: str,
    check_mode: bool,
    base_env: Mapping[str, str],
    stop_reason: str = "stopped",
    now: Now = utc_now,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    problems = validate_run(spec, starting=False)
    if problems:
        raise OSWorldError("; ".join(problems))
    state = read_state(spec)
    if wanted == ABSENT:
        return remove_run(aws, spec, state, check_mode, stop_reason, now, sleep)
    if state is None:
        if wanted != STARTED:
            raise OSWorldError(f"osworld_eval_run_id: no run '{spec.run_id}' in {spec.state_dir}: start it with osworld_eval_state=started")
        return start_run(aws, spec, check_mode, base_env, now)
    if state.get("finalized"):
        return report(spec, state, changed=False)
    if is_alive(state):
        polled = progress(aws, spec, state, now())
        return report(spec, state, changed=False, running=True, progress=polled["line"], vms_running=polled["vms_running"],
                      elapsed_seconds=polled["elapsed_seconds"])  # fmt: skip
    if check_mode:
        return report(spec, state, changed=True, outcome=exit_outcome(spec))
    # The runner has ended; workers it left behind would launch VMs while the run is cleaned up.
    stop_runner(state, sleep=sleep)
    summary = end_run(aws, spec, state, exit_outcome(spec), now, sleep)
    return report(spec, state, changed=bool(summary["vms_terminated"]), summary=summary, outcome=summary["outcome"])


def start_run(aws: AWS, spec: RunSpec, check_mode: bool, base_env: Mapping[str, str], now: Now) -> dict[str, Any]:
    problems = validate_run(spec, starting=True)
    warnings: list[str] = []
    if not problems:
        problems, warnings = check_account(aws, spec)
    if problems:
        listed = problems[0] if len(problems) == 1 else "; ".join(f"({number}) {text}" for number, text in enumerate(problems, 1))
        raise OSWorldError(f"Nothing was started: {listed}", problems=problems)
    installed = install(
        spec.venv, spec.venv_python, spec.path(spec.requirements), spec.checkout, spec.launcher_dir, spec.launcher_files, check_mode
    )
    if check_mode:
        return report(spec, None, changed=True, warnings=warnings, installed=installed, would_start=True)
    state = start_runner(spec, now(), base_env)
    return report(spec, state, changed=True, running=True, warnings=warnings, installed=installed, progress="started")


def remove_run(
    aws: AWS, spec: RunSpec, state: dict[str, Any] | None, check_mode: bool, stop_reason: str, now: Now, sleep: Callable[[float], None]
) -> dict[str, Any]:
    if state is None:
        doomed = [] if check_mode else sweep_tagged(aws, spec)
        return report(spec, None, changed=bool(doomed), vms_terminated=len(doomed))
    if check_mode:
        return report(spec, state, changed=True)
    stopped = stop_runner(state, sleep=sleep)
    summary = state["summary"] if state.get("finalized") else end_run(aws, spec, state, stop_reason if stopped else exit_outcome(spec), now, sleep)
    for name in (STATE_FILE, SETTINGS_FILE):
        try:
            os.remove(os.path.join(spec.state_dir, name))
        except FileNotFoundError:
            pass
    return report(spec, None, changed=True, stopped=stopped, summary=summary, outcome=summary["outcome"], vms_terminated=summary["vms_terminated"])
