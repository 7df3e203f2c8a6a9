# This module util is PRIVATE to the collection. It may change without notice.
"""An OSWorld run's score and progress, read from the files OSWorld writes (no AWS call).

The task list is the test meta file (`{domain: [task id, ...]}`); a task is finished when
`<result_dir>/<action_space>/<observation_type>/<model>/<domain>/<task>/result.txt` exists, and
its score is that file's number. The success rate is OSWorld's (show_result.py): the mean score
of the finished tasks. A planned task without a result (a crash, a timeout) is `unscored`, never
a zero.
"""
from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .errors import OSWorldError
from .prices import PRICES_AS_OF, hourly_price
from .timestamps import parse_utc

ALL_DOMAINS = "all"
RESULT_FILE = "result.txt"
COST_NOTE = f"approximate: VM-hours from launch to termination, priced from the collection's On-Demand table ({PRICES_AS_OF}); not a bill"
# "User initiated (2025-06-01 12:00:00 GMT)": the only place EC2 states when a VM was terminated.
TRANSITION_TIME = re.compile(r"\((\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) (?:GMT|UTC)\)")


@dataclass(frozen=True)
class Layout:
    """Where OSWorld writes one run's results."""

    result_dir: str
    action_space: str
    observation_type: str
    model: str

    @property
    def root(self) -> str:
        return os.path.join(self.result_dir, self.action_space, self.observation_type, self.model)


def load_plan(meta_path: str, domain: str) -> dict[str, list[str]]:
    """The tasks of the run: every domain of the meta file, or the one asked for."""
    try:
        with open(meta_path, encoding="utf-8") as handle:
            meta = json.load(handle)
    except (OSError, ValueError) as exc:
        raise OSWorldError(f"osworld_eval_test_meta: cannot read {meta_path}: {exc}") from exc
    if not isinstance(meta, Mapping) or not all(isinstance(tasks, list) for tasks in meta.values()):
        raise OSWorldError(f"osworld_eval_test_meta: {meta_path} is not a {{domain: [task ids]}} file")
    if domain == ALL_DOMAINS:
        return {str(name): [str(task) for task in tasks] for name, tasks in sorted(meta.items())}
    if domain not in meta:
        raise OSWorldError(f"osworld_eval_domain: '{domain}' is not a domain of {meta_path} (domains: {', '.join(sorted(meta))})")
    return {domain: [str(task) for task in meta[domain]]}


def read_score(path: str) -> float:
    """A result.txt's score; an unreadable one counts as 0, as OSWorld's show_result.py has it."""
    try:
        with open(path, encoding="utf-8") as handle:
            return float(handle.read().strip())
    except (OSError, ValueError):
        return 0.0


def collect_scores(layout: Layout, plan: Mapping[str, Sequence[str]]) -> dict[str, dict[str, float]]:
    """{domain: {task: score}} for the planned tasks that have a result.txt (one listdir per domain)."""
    scores: dict[str, dict[str, float]] = {}
    for domain, tasks in plan.items():
        domain_dir = os.path.join(layout.root, domain)
        try:
            present = set(os.listdir(domain_dir))
        except OSError:
            present = set()
        found = {}
        for task in tasks:
            path = os.path.join(domain_dir, task, RESULT_FILE)
            if task in present and os.path.isfile(path):
                found[task] = read_score(path)
        scores[domain] = found
    return scores


def mean(values: Iterable[float]) -> float:
    listed = list(values)
    return round(sum(listed) / len(listed), 6) if listed else 0.0


def score_summary(plan: Mapping[str, Sequence[str]], scores: Mapping[str, Mapping[str, float]]) -> dict[str, Any]:
    """planned, finished, success_rate, unscored and the same per domain."""
    domains = {
        domain: {"planned": len(tasks), "finished": len(scores.get(domain, {})), "success_rate": mean(scores.get(domain, {}).values())}
        for domain, tasks in plan.items()
    }
    planned = sum(item["planned"] for item in domains.values())
    finished = sum(item["finished"] for item in domains.values())
    every_score = [score for domain in plan for score in scores.get(domain, {}).values()]
    return {"planned": planned, "finished": finished, "success_rate": mean(every_score), "unscored": planned - finished, "domains": domains}


def progress_line(summary: Mapping[str, Any], vms_running: int, elapsed_seconds: float) -> str:
    """`37/120 tasks done (chrome 12/46, gimp 25/74), 20 VMs running, 41 min elapsed`."""
    per_domain = ", ".join(f"{name} {item['finished']}/{item['planned']}" for name, item in summary["domains"].items())
    return (
        f"{summary['finished']}/{summary['planned']} tasks done ({per_domain}), "
        f"{vms_running} VMs running, {int(elapsed_seconds // 60)} min elapsed"
    )


# ---------------------------------------------------------------------------------------------
# VM-hours and cost


def ended_at(instance: Mapping[str, Any], now: datetime) -> datetime:
    """When a VM stopped costing: its termination time for a terminated VM, else now."""
    state = instance.get("State", {}).get("Name")
    if state in ("shutting-down", "terminated"):
        match = TRANSITION_TIME.search(str(instance.get("StateTransitionReason") or ""))
        if match:
            return datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
    return now


def vm_hours(instances: Iterable[Mapping[str, Any]], now: datetime) -> float:
    total = 0.0
    for instance in instances:
        launched = parse_utc(instance.get("LaunchTime"))
        if launched is not None:
            total += max(0.0, (ended_at(instance, now) - launched).total_seconds()) / 3600
    return round(total, 4)


def estimated_cost(instances: Sequence[Mapping[str, Any]], region: str, now: datetime) -> float | None:
    """VM-hours times each VM's hourly price; None when a VM's type or region is not in the table."""
    total = 0.0
    for instance in instances:
        price = hourly_price(region, str(instance.get("InstanceType", "")))
        if price is None:
            return None
        total += vm_hours([instance], now) * price
    return round(total, 4)
