"""evaluation.py: which VMs belong to a run."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ansible_collections.osworld.aws.plugins.module_utils._osworld.evaluation import is_run_vm
from tests.support.described import ENV_GROUP as GROUP, launched_instance as vm

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


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
