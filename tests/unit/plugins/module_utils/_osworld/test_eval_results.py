"""eval_results.py: scores and progress from a results tree, VM-hours and the run's estimated cost."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ansible_collections.osworld.aws.plugins.module_utils._osworld.errors import OSWorldError
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
from ansible_collections.osworld.aws.plugins.module_utils._osworld.prices import INSTANCE_USD_PER_HOUR, VM_OVERHEAD_USD_PER_HOUR
from tests.support.described import launched_instance as vm

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


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


def test_vm_hours_run_from_launch_to_termination_or_now() -> None:
    ended = vm(NOW - timedelta(hours=3), "terminated", "User initiated (2026-01-01 11:00:00 GMT)")
    assert ended_at(ended, NOW) == NOW - timedelta(hours=1)
    running = vm(NOW - timedelta(minutes=30))
    assert vm_hours([ended, running], NOW) == 2.5
    price = INSTANCE_USD_PER_HOUR["us-east-1"]["t3.medium"] + VM_OVERHEAD_USD_PER_HOUR
    assert estimated_cost([ended, running], "us-east-1", NOW) == round(2.5 * price, 4)
    assert estimated_cost([running], "mars-north-1", NOW) is None
