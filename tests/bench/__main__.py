"""`python -m tests.bench` (`make bench`): every tests/bench/*.py benchmark's main(), in one process."""
from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def main() -> int:
    failed = []
    for path in sorted(Path(__file__).parent.glob("*.py")):
        if path.stem.startswith("_"):
            continue
        module = importlib.import_module(f"tests.bench.{path.stem}")
        entry = getattr(module, "main", None)
        if entry is None:
            continue
        print(f"=== tests.bench.{path.stem}", flush=True)
        # Each benchmark parses its own options; from here it runs with its defaults.
        takes_argv = bool(inspect.signature(entry).parameters)
        status = entry([]) if takes_argv else entry()
        print(flush=True)
        if status:
            failed.append(path.stem)
    if failed:
        print(f"benchmarks that missed their goals: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
