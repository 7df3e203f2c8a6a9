"""Benchmark: API calls and wall time of provision (network + both security groups), fresh and
re-run, osworld.aws against the amazon.aws-only equivalent, side by side on one emulator.

Run with `python -m tests.bench.provision` (or `make bench`). The amazon.aws side is
tests/bench/amazon_fleet.yml with fleet_size=0: ec2_vpc_net, ec2_vpc_subnet, ec2_vpc_igw,
ec2_vpc_route_table and two ec2_security_group tasks. Calls are the requests the recording proxy
relayed; osworld.aws's figures include its preflight checks.
"""
from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tests.bench.fleet import BENCH, REPO, Bench, Phase, ratio
from tests.support.aws_proxy import AWSProxy
from tests.support.harness import ensure_collection_link
from tests.support.moto_server import MotoServer

GOAL_FRESH_CALLS = 25
GOAL_RERUN_CALLS = 10


def measure(bench: Bench) -> tuple[dict[str, Phase], dict[str, Phase]]:
    provision = REPO / "playbooks" / "provision.yml"
    env_file = {"osworld_env_file": str(bench.workdir / "osworld.env")}
    mine = bench.sequence([("fresh", provision, env_file), ("re-run", provision, env_file)])
    mine["re-run mutating"] = Phase(sum(count for action, count in mine["re-run"].actions.items() if not action.startswith(("Describe", "Get", "List"))))
    amazon = BENCH / "amazon_fleet.yml"
    theirs = bench.sequence([("fresh", amazon, {"fleet_size": 0}), ("re-run", amazon, {"fleet_size": 0})])
    return mine, theirs


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.provision", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.parse_args(argv)
    ensure_collection_link()
    with MotoServer() as server, tempfile.TemporaryDirectory(prefix="osworld-bench-") as scratch:
        proxy = AWSProxy(server.url).start()
        try:
            mine, theirs = measure(Bench(server, proxy, Path(scratch)))
        finally:
            proxy.stop()
    print("Provision (network + env and host security groups), fresh emulated account")
    print(f"{'run':<10}{'osworld.aws calls':>18}{'amazon.aws calls':>18}{'ratio':>8}{'osworld.aws s':>15}{'amazon.aws s':>14}{'ratio':>8}")
    for name in ("fresh", "re-run"):
        a, b = mine[name], theirs[name]
        print(f"{name:<10}{a.calls:>18}{b.calls:>18}{ratio(b.calls, a.calls):>8}{a.seconds:>15.1f}{b.seconds:>14.1f}{ratio(b.seconds, a.seconds):>8}")
    for name in ("fresh", "re-run"):
        print(f"osworld.aws {name}: {dict(sorted(mine[name].actions.items()))}")
    checks = [
        (f"fresh provision: <= {GOAL_FRESH_CALLS} calls", mine["fresh"].calls <= GOAL_FRESH_CALLS),
        (f"re-run: <= {GOAL_RERUN_CALLS} calls", mine["re-run"].calls <= GOAL_RERUN_CALLS),
        ("re-run: no mutating call", mine["re-run mutating"].calls == 0),
    ]
    for label, passed in checks:
        print(f"  [{'ok' if passed else 'MISSED'}] {label}")
    return 0 if all(passed for _label, passed in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
