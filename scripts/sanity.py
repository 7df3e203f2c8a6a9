"""Runs `ansible-test sanity` offline on a copy of the collection.

ansible-test wants the tree under ansible_collections/<namespace>/<name> and downloads a pip
bootstrap script that this network cannot reach; a stand-in built on ensurepip replaces it.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GET_PIP_STAND_IN = Path.home() / ".ansible" / "test" / "cache" / "get_pip_24_2.py"
STAND_IN_SOURCE = '''"""Offline stand-in for get-pip.py, written by osworld.aws scripts/sanity.py."""
import subprocess
import sys

subprocess.run([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"], check=True)
requirements = [arg for arg in sys.argv[1:] if not arg.startswith("-")]
if requirements:
    subprocess.run([sys.executable, "-m", "pip", "install", "--disable-pip-version-check", *requirements], check=True)
'''


def tracked_files() -> list[str]:
    listing = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, check=True, capture_output=True, text=True,
    ).stdout
    return [line for line in listing.splitlines() if line and (REPO / line).is_file()]


def main() -> int:
    GET_PIP_STAND_IN.parent.mkdir(parents=True, exist_ok=True)
    GET_PIP_STAND_IN.write_text(STAND_IN_SOURCE)
    with tempfile.TemporaryDirectory(prefix="osworld-sanity-") as scratch:
        root = Path(scratch) / "ansible_collections" / "osworld" / "aws"
        for name in tracked_files():
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, target)
        subprocess.run(["git", "init", "-q"], cwd=root, check=True)
        subprocess.run(["git", "add", "-A"], cwd=root, check=True)
        command = [
            str(Path(sys.executable).parent / "ansible-test"), "sanity", "--local",
            "--python", f"{sys.version_info.major}.{sys.version_info.minor}", "--requirements", *sys.argv[1:],
        ]
        return subprocess.run(command, cwd=root, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
