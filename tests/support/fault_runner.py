"""Runs a playbook that is killed (SIGKILL, whole process group) right after a chosen AWS call.

The proxy's `before_answer` hook runs once moto has acted and before the answer goes back: the kill
lands there and the answer is dropped, where a crash, an OOM kill or a closed laptop would land at
worst: AWS changed something and the playbook never learnt it.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .aws_proxy import Call
from .harness import REPO, VENV_BIN, AWSHarness


@dataclass
class KilledRun:
    rc: int
    killed: bool
    stdout: str
    stderr: str


def nth_call(action: str, n: int = 1) -> Callable[[Call], bool]:
    """Matches the n-th relayed (not injected) call of `action`."""
    seen = 0

    def matches(call: Call) -> bool:
        nonlocal seen
        if call.action != action or call.injected:
            return False
        seen += 1
        return seen == n

    return matches


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                # Field 4 of /proc/<pid>/stat is the parent; the command name before it may hold spaces.
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def kill_tree(root: int) -> None:
    """SIGKILL a process and every descendant, deepest first, and wait until they are gone.

    ansible-core's workers call setsid(), so killing ansible-playbook's process group would leave
    the worker and the module running: the module would finish the very change the kill is meant
    to interrupt.
    """
    tree, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        tree.append(pid)
        frontier.extend(children(pid))
    for pid in reversed(tree):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while any(alive(pid) for pid in tree[1:]) and time.monotonic() < deadline:
        time.sleep(0.01)


def run_killed(
    harness: AWSHarness,
    playbook: str,
    extra_vars: dict[str, Any] | None,
    when: Callable[[Call], bool],
    timeout: int = 600,
    env: dict[str, str] | None = None,
) -> KilledRun:
    variables = {"osworld_env_file": str(harness.workdir / "osworld.env"), **(extra_vars or {})}
    command = [str(VENV_BIN / "ansible-playbook"), str(REPO / "playbooks" / playbook), "-e", json.dumps(variables)]
    run_env = harness.env({"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", **(env or {})})
    # Its own session, so that nothing of pytest's is ever in the tree that gets killed.
    process = subprocess.Popen(
        command, cwd=harness.workdir, env=run_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    killed = threading.Event()
    lock = threading.Lock()
    killing: list[Call] = []

    def before_answer(call: Call) -> bool:
        with lock:
            if killed.is_set() or not when(call):
                return False
            killed.set()
            killing.append(call)
        kill_tree(process.pid)
        return True

    harness.proxy.before_answer = before_answer
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    finally:
        harness.proxy.before_answer = None
    if killing:
        # The proxy records the killing call once this hook has returned, which can be after the
        # playbook is dead: wait for it, so that a test's proxy.clear() right after never misses it.
        deadline = time.monotonic() + 30
        while not any(call is killing[0] for call in list(harness.proxy.calls)) and time.monotonic() < deadline:
            time.sleep(0.01)
    return KilledRun(process.returncode, killed.is_set(), stdout, stderr)
