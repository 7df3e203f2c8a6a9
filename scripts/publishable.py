"""Builds the collection and runs galaxy-importer on the tarball, as Galaxy and Automation Hub do on upload.

Usage: python scripts/publishable.py <galaxy-importer venv>  (`make publishable` creates that venv:
galaxy-importer pins its own ansible-lint and dependencies, so it lives apart from .venv).

Its ansible-test run is off (`make sanity` runs ansible-test), its ansible-lint run on. Fails on
a non-zero exit and on any line galaxy-importer reports as an error.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Settings galaxy-importer reads from GALAXY_IMPORTER_<NAME> environment variables.
SETTINGS = {
    "GALAXY_IMPORTER_RUN_ANSIBLE_TEST": "false",
    "GALAXY_IMPORTER_RUN_ANSIBLE_LINT": "true",
    "GALAXY_IMPORTER_RUN_ANSIBLE_DOC": "true",
    "GALAXY_IMPORTER_CHECK_CHANGELOG": "true",
}
# galaxy-importer warns about sanity ignore files whatever they hold; this house keeps them empty.
EXPECTED_WARNING = "Ignore files skip ansible-test sanity tests"


def problems(output: str) -> list[str]:
    """The lines of galaxy-importer's output that are errors, or warnings other than the expected one."""
    found = []
    for line in output.splitlines():
        if line.startswith("ERROR") or " ERROR " in line or line.startswith("WARNING"):
            if EXPECTED_WARNING in line and "with 0 statement(s)" in line:
                continue
            found.append(line)
    return found


def main() -> int:
    importer = Path(sys.argv[1]).resolve()
    with tempfile.TemporaryDirectory(prefix="osworld-publishable-") as scratch:
        subprocess.run(
            [str(Path(sys.executable).parent / "ansible-galaxy"), "collection", "build", "--output-path", scratch],
            cwd=REPO, check=True,
        )
        (tarball,) = Path(scratch).glob("osworld-aws-*.tar.gz")
        env = {key: value for key, value in os.environ.items() if not key.startswith(("ANSIBLE_", "GALAXY_IMPORTER_"))}
        env.update(SETTINGS)
        env["PATH"] = f"{importer / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        run = subprocess.run(
            [str(importer / "bin" / "python"), "-m", "galaxy_importer.main", str(tarball)],
            cwd=scratch, env=env, capture_output=True, text=True, check=False,
        )
    output = run.stdout + run.stderr
    print(output)
    found = problems(output)
    if run.returncode != 0 or found or "Importer processing completed successfully" not in output:
        print(f"galaxy-importer: exit {run.returncode}; {len(found)} problem(s):", *found, sep="\n  ", file=sys.stderr)
        return 1
    print("galaxy-importer: the collection imports with no error or warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
