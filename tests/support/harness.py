"""Runs the collection's playbooks against moto through the recording proxy and reads state back."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from .aws_proxy import AWSProxy, FaultPlan
from .moto_server import FAKE_CREDENTIALS, MotoServer

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
COLLECTIONS_PATH = REPO / ".venv" / "collections"
REGION = "us-east-1"
# The tests' ansible runs keep the AnsiballZ payloads they build and the bytecode their modules
# compile (see its sitecustomize.py); benchmarks leave it out, so that their times are a user's.
BUILD_CACHES_PATH = Path(__file__).with_name("build_caches")


def ensure_collection_link() -> None:
    """Makes this checkout importable as osworld.aws (what `make venv` does, for bare pytest runs)."""
    link = COLLECTIONS_PATH / "ansible_collections" / "osworld" / "aws"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        try:
            link.symlink_to(REPO, target_is_directory=True)
        except FileExistsError:  # another pytest worker made it first
            pass
    collections_root = str(COLLECTIONS_PATH)
    if collections_root not in sys.path:
        sys.path.insert(0, collections_root)


@dataclass
class PlaybookRun:
    rc: int
    stdout: str
    stderr: str
    output: dict[str, Any]

    @property
    def stats(self) -> dict[str, int]:
        return dict(self.output.get("stats", {}).get("localhost", {}))

    @property
    def changed(self) -> int:
        return int(self.stats.get("changed", 0))

    @property
    def failed(self) -> bool:
        return self.rc != 0

    def task_results(self, task_name_part: str) -> list[dict[str, Any]]:
        results = []
        for play in self.output.get("plays", []):
            for task in play.get("tasks", []):
                if task_name_part in task["task"]["name"]:
                    results.extend(task["hosts"].values())
        return results

    def failure_messages(self) -> list[str]:
        messages = []
        for play in self.output.get("plays", []):
            for task in play.get("tasks", []):
                for result in task["hosts"].values():
                    if result.get("failed"):
                        messages.append(str(result.get("msg", "")))
        return messages


def ansible_env(endpoint_url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "ANSIBLE_"))}
    env.update(FAKE_CREDENTIALS)
    env.update(
        {
            "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_REGION": REGION,
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS_PATH),
            "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
        }
    )
    env.update(extra or {})
    return env


def build_caches_env() -> dict[str, str]:
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(BUILD_CACHES_PATH), os.environ.get("PYTHONPATH")]))}


class AWSHarness:
    """One test's view of the emulator: boto3 clients straight to moto, ansible through the proxy."""

    def __init__(self, server: MotoServer, workdir: Path, faults: FaultPlan | None = None) -> None:
        self.server = server
        self.workdir = workdir
        # The modules' temporary directories, outside the workdir that tests list: a module the
        # fault tests kill leaves its AnsiballZ payload directory behind, and close() removes it.
        self.temp_dir = Path(tempfile.mkdtemp(prefix="osworld-modules-"))
        self.proxy = AWSProxy(server.url, faults).start()

    def close(self) -> None:
        self.proxy.stop()
        shutil.rmtree(self.temp_dir, ignore_errors=True)

    def client(self, service: str = "ec2", region: str = REGION) -> Any:
        return boto3.client(service, region_name=region, endpoint_url=self.server.url, **_boto_credentials())

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return ansible_env(self.proxy.url, {**build_caches_env(), "TMPDIR": str(self.temp_dir), **(extra or {})})

    def playbook(
        self,
        name: str,
        extra_vars: dict[str, Any] | None = None,
        *,
        check: bool = False,
        diff: bool = False,
        env: dict[str, str] | None = None,
        timeout: int = 600,
    ) -> PlaybookRun:
        variables = {"osworld_env_file": str(self.workdir / "osworld.env")}
        variables.update(extra_vars or {})
        command = [
            str(VENV_BIN / "ansible-playbook"),
            str(REPO / "playbooks" / name),
            "-e",
            json.dumps(variables),
        ]
        if check:
            command.append("--check")
        if diff:
            command.append("--diff")
        run_env = self.env({"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", **(env or {})})
        completed = subprocess.run(
            command, cwd=self.workdir, env=run_env, capture_output=True, text=True, timeout=timeout, check=False
        )
        try:
            output = json.loads(completed.stdout[completed.stdout.index("{") :])
        except ValueError:
            output = {}
        return PlaybookRun(completed.returncode, completed.stdout, completed.stderr, output)

    def provisioned(self, extra_vars: dict[str, Any] | None = None, *, env: dict[str, str] | None = None) -> None:
        """The account and the .env as `provision.yml` with these variables leaves them, for tests
        whose subject comes after it. The first such test on a moto server runs the playbook for real
        and saves moto's state; later ones restore that state and write the same .env, in a fraction
        of a second. The proxy's record starts empty either way. Call it first: the restore replaces
        whatever the account held."""
        key = json.dumps([extra_vars or {}, env or {}], sort_keys=True)
        env_file = self.workdir / "osworld.env"
        # OSWORLD_TESTS_NO_RESTORE=1 provisions for real every time (to compare results or time).
        if key not in self.server.saved or os.environ.get("OSWORLD_TESTS_NO_RESTORE"):
            run = self.playbook("provision.yml", extra_vars, env=env)
            assert run.rc == 0, run.failure_messages() or run.stdout[-3000:]
            self.server.save(key, env_file.read_text())
        else:
            # Private, as env_file writes it: another mode would be a change to the next run.
            env_file.touch(mode=0o600)
            env_file.write_text(self.server.restore(key))
        self.proxy.clear()


def _boto_credentials() -> dict[str, str]:
    return {
        "aws_access_key_id": FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "aws_session_token": FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
    }
