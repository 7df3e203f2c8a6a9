"""playbooks/policies.yml: the shipped IAM policies written for another region, with no AWS call.

The endpoint points at a closed loopback port, so any AWS call would fail the run.
"""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from tests.support.harness import REPO, VENV_BIN, ansible_env
from tests.support.policy_lint import unexplained

POLICIES = REPO / "policies"
NOWHERE = "http://127.0.0.1:9"


def run(workdir: Path, extra_vars: dict[str, Any] | None = None, *, region: str = "us-east-1", check: bool = False) -> subprocess.CompletedProcess[str]:
    command = [str(VENV_BIN / "ansible-playbook"), str(REPO / "playbooks" / "policies.yml")]
    if extra_vars:
        command += ["-e", json.dumps(extra_vars)]
    if check:
        command += ["--check", "--diff"]
    env = ansible_env(NOWHERE, {"AWS_REGION": region})
    return subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=300, check=False)


def region_conditions(policy: dict[str, Any]) -> list[Any]:
    return [
        operator["aws:RequestedRegion"]
        for statement in policy["Statement"]
        for operator in statement.get("Condition", {}).values()
        if "aws:RequestedRegion" in operator
    ]


def test_osworld_region_writes_every_policy_for_that_region(tmp_path: Path) -> None:
    first = run(tmp_path, {"osworld_region": "eu-west-1"})
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
    written = tmp_path / "policies-eu-west-1"
    assert sorted(p.name for p in written.iterdir()) == sorted(p.name for p in POLICIES.glob("*.json"))
    for path in written.iterdir():
        policy = json.loads(path.read_text())
        shipped = json.loads((POLICIES / path.name).read_text())
        assert len(policy["Statement"]) == len(shipped["Statement"]), path.name
        assert set(region_conditions(policy)) <= {"eu-west-1"}, path.name
        assert len(region_conditions(policy)) == len(region_conditions(shipped)), path.name
        assert unexplained(path) == [], path.name
    assert region_conditions(json.loads((written / "operator.json").read_text()))
    # The summary gives the command to create the policy (the callback wraps long lines).
    assert f"--policy-documentfile://{written / 'operator.json'}" in re.sub(r"\s+", "", first.stdout)

    again = run(tmp_path, {"osworld_region": "eu-west-1"})
    assert again.returncode == 0
    assert "changed=0" in again.stdout


def test_a_list_of_regions_and_the_aws_region_default(tmp_path: Path) -> None:
    listed = run(tmp_path, {"osworld_policy_regions": ["eu-west-1", "eu-central-1"], "osworld_policy_dir": "iam"})
    assert listed.returncode == 0, listed.stdout[-3000:]
    operator = json.loads((tmp_path / "iam" / "operator.json").read_text())
    assert region_conditions(operator) and all(value == ["eu-west-1", "eu-central-1"] for value in region_conditions(operator))

    from_env = run(tmp_path, region="ap-southeast-2")
    assert from_env.returncode == 0, from_env.stdout[-3000:]
    operator = json.loads((tmp_path / "policies-ap-southeast-2" / "operator.json").read_text())
    assert set(region_conditions(operator)) == {"ap-southeast-2"}


def test_check_mode_and_a_bad_region_write_nothing(tmp_path: Path) -> None:
    checked = run(tmp_path, {"osworld_region": "eu-west-1"}, check=True)
    assert checked.returncode == 0, checked.stdout[-3000:]
    bad = run(tmp_path, {"osworld_policy_regions": ["eu-west", "EU-WEST-1"]})
    assert bad.returncode != 0
    assert "osworld_policy_regions:''eu-west''isnotanAWSregionname" in re.sub(r"\s+", "", bad.stdout)
    assert "'EU-WEST-1'" in bad.stdout
    assert list(tmp_path.iterdir()) == []
