"""Benchmark: API calls and wall time of a fleet's life, osworld.aws against amazon.aws alone.

Run with `python -m tests.bench.fleet` (or `make bench`). It starts its own moto server behind
the recording proxy and, from a fresh account each time, runs side by side:
- osworld.aws: provision.yml then envs.yml (create), envs.yml again (re-run), teardown.yml
  (VMs), teardown.yml with osworld_teardown_network (network);
- amazon.aws only: tests/bench/amazon_fleet.yml (ec2_vpc_* modules, ec2_security_group and
  ec2_instance with exact_count) for create and re-run, tests/bench/amazon_teardown.yml for the
  VMs and then the network.
Calls are the requests the proxy relayed; wall time includes ansible-playbook's start-up, the
same for both. Finally envs.yml alone at several fleet sizes shows that calls do not grow with N.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.support.aws_proxy import AWSProxy  # noqa: E402
from tests.support.harness import ansible_env, ensure_collection_link  # noqa: E402
from tests.support.moto_server import MotoServer  # noqa: E402

VENV_BIN = Path(sys.executable).parent
BENCH = Path(__file__).resolve().parent
PHASES = ("create", "re-run", "teardown VMs", "teardown network")

# Goals from the issue.
GOAL_CREATE_RATIO = 10.0
GOAL_RERUN_CALLS = 5
GOAL_TEARDOWN_CALLS = 5
GOAL_WALL_RATIO = 2.0


@dataclass
class Phase:
    calls: int = 0
    seconds: float = 0.0
    actions: Counter[str] = field(default_factory=Counter)


@dataclass
class Bench:
    server: MotoServer
    proxy: AWSProxy
    workdir: Path

    def run(self, playbook: Path, extra_vars: dict[str, Any]) -> Phase:
        self.proxy.clear()
        command = [str(VENV_BIN / "ansible-playbook"), str(playbook), "-e", json.dumps(extra_vars)]
        started = time.monotonic()
        completed = subprocess.run(command, cwd=self.workdir, env=ansible_env(self.proxy.url), capture_output=True, text=True, check=False)
        seconds = time.monotonic() - started
        if completed.returncode != 0:
            raise RuntimeError(f"{playbook.name} {extra_vars} failed:\n{completed.stdout[-4000:]}\n{completed.stderr[-2000:]}")
        actions = self.proxy.actions(include_injected=True)
        return Phase(len(actions), seconds, Counter(actions))

    def sequence(self, steps: Sequence[tuple[str, Path, dict[str, Any]]]) -> dict[str, Phase]:
        self.server.reset()
        phases: dict[str, Phase] = {}
        for name, playbook, extra_vars in steps:
            phase = self.run(playbook, extra_vars)
            total = phases.setdefault(name, Phase())
            total.calls += phase.calls
            total.seconds += phase.seconds
            total.actions.update(phase.actions)
        return phases


def ours(bench: Bench, size: int) -> dict[str, Phase]:
    playbooks = REPO / "playbooks"
    env_file = {"osworld_env_file": str(bench.workdir / "osworld.env")}
    return bench.sequence(
        [
            ("create", playbooks / "provision.yml", env_file),
            ("create", playbooks / "envs.yml", {"osworld_env_count": size}),
            ("re-run", playbooks / "envs.yml", {"osworld_env_count": size}),
            ("teardown VMs", playbooks / "teardown.yml", {}),
            ("teardown network", playbooks / "teardown.yml", {"osworld_teardown_network": True}),
        ]
    )


def amazon(bench: Bench, size: int) -> dict[str, Phase]:
    return bench.sequence(
        [
            ("create", BENCH / "amazon_fleet.yml", {"fleet_size": size}),
            ("re-run", BENCH / "amazon_fleet.yml", {"fleet_size": size}),
            ("teardown VMs", BENCH / "amazon_teardown.yml", {}),
            ("teardown network", BENCH / "amazon_teardown.yml", {"teardown_network": True}),
        ]
    )


def scaling(bench: Bench, sizes: Sequence[int]) -> list[tuple[int, int, int]]:
    """(N, envs.yml calls to launch N, envs.yml calls to tear N down), on a provisioned account."""
    bench.server.reset()
    bench.run(REPO / "playbooks" / "provision.yml", {"osworld_env_file": str(bench.workdir / "osworld.env")})
    rows = []
    for size in sizes:
        up = bench.run(REPO / "playbooks" / "envs.yml", {"osworld_env_count": size})
        down = bench.run(REPO / "playbooks" / "envs.yml", {"osworld_env_count": 0})
        rows.append((size, up.calls, down.calls))
    return rows


def ratio(theirs: float, mine: float) -> str:
    return f"{theirs / mine:.1f}x" if mine else "-"


def report(size: int, mine: dict[str, Phase], theirs: dict[str, Phase], rows: list[tuple[int, int, int]]) -> tuple[list[str], bool]:
    lines = [
        f"Fleet of {size} VMs, fresh account, moto {moto_version()} behind the recording proxy",
        f"{'phase':<18}{'osworld.aws calls':>18}{'amazon.aws calls':>18}{'ratio':>8}{'osworld.aws s':>15}{'amazon.aws s':>14}{'ratio':>8}",
    ]
    for name in PHASES:
        a, b = mine[name], theirs[name]
        lines.append(f"{name:<18}{a.calls:>18}{b.calls:>18}{ratio(b.calls, a.calls):>8}{a.seconds:>15.1f}{b.seconds:>14.1f}{ratio(b.seconds, a.seconds):>8}")
    total_mine = sum(phase.seconds for phase in mine.values())
    total_theirs = sum(phase.seconds for phase in theirs.values())
    calls_mine = sum(phase.calls for phase in mine.values())
    calls_theirs = sum(phase.calls for phase in theirs.values())
    lines.append(f"{'total':<18}{calls_mine:>18}{calls_theirs:>18}{ratio(calls_theirs, calls_mine):>8}"
                 f"{total_mine:>15.1f}{total_theirs:>14.1f}{ratio(total_theirs, total_mine):>8}")
    lines.append("")
    for name in PHASES:
        lines.append(f"osworld.aws {name}: {dict(sorted(mine[name].actions.items()))}")
    lines.append("")
    lines.append("envs.yml alone, calls by fleet size (launch N / tear N down):")
    lines.extend(f"  N={n:<5} launch {up:>3} calls, teardown {down:>3} calls" for n, up, down in rows)
    lines.append("")
    checks = [
        (f"create: >= {GOAL_CREATE_RATIO:.0f}x fewer calls", theirs["create"].calls >= GOAL_CREATE_RATIO * mine["create"].calls),
        (f"no-op re-run: <= {GOAL_RERUN_CALLS} calls", mine["re-run"].calls <= GOAL_RERUN_CALLS),
        (f"teardown of {size} VMs: <= {GOAL_TEARDOWN_CALLS} calls", mine["teardown VMs"].calls <= GOAL_TEARDOWN_CALLS),
        (f"wall time overall: >= {GOAL_WALL_RATIO:.0f}x less", total_theirs >= GOAL_WALL_RATIO * total_mine),
        ("calls flat in N (launch and teardown)", len({row[1] for row in rows}) == 1 and len({row[2] for row in rows}) == 1),
    ]
    lines.extend(f"  [{'ok' if passed else 'MISSED'}] {label}" for label, passed in checks)
    return lines, all(check[1] for check in checks)


def moto_version() -> str:
    try:
        import moto

        return str(moto.__version__)
    except ImportError:  # pragma: no cover
        return "?"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.fleet", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size", type=int, default=50, help="VMs in the fleet")
    parser.add_argument("--scaling", type=int, nargs="*", default=[10, 50, 200], help="fleet sizes for the calls-vs-N check")
    args = parser.parse_args(argv)
    ensure_collection_link()
    with MotoServer() as server, tempfile.TemporaryDirectory(prefix="osworld-bench-") as scratch:
        proxy = AWSProxy(server.url).start()
        # Service Quotas answers, as on AWS, so that envs.yml's vCPU check runs in full (moto has
        # no Service Quotas: the proxy answers that one call). 5,000 vCPUs hold every fleet here.
        proxy.service_quotas = {"L-1216C47A": 5000.0}
        try:
            bench = Bench(server, proxy, Path(scratch))
            mine = ours(bench, args.size)
            theirs = amazon(bench, args.size)
            rows = scaling(bench, args.scaling)
        finally:
            proxy.stop()
    lines, passed = report(args.size, mine, theirs, rows)
    print("\n".join(lines))
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
