# This module util is PRIVATE to the collection. It may change without notice.
"""OSWorld's runtime on its host: a virtualenv with the checkout's requirements, and the
collection's launcher beside it. Each step is skipped when already done: the requirements are
installed again only when their file's checksum differs from the one recorded in the virtualenv."""
from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Mapping, Sequence

from .errors import OSWorldError

MARKER = ".osworld-requirements.sha256"
# pip's last words are enough to say what failed, and never a whole log.
OUTPUT_TAIL = 2000


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def _run(argv: Sequence[str], cwd: str, variable: str) -> None:
    completed = subprocess.run(list(argv), cwd=cwd, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        output = (completed.stdout + completed.stderr)[-OUTPUT_TAIL:]
        raise OSWorldError(f"{variable}: `{' '.join(argv)}` failed with exit code {completed.returncode}: {output}")


def ensure_venv(venv: str, creator: str, check_mode: bool) -> bool:
    if os.path.exists(os.path.join(venv, "bin", "python")):
        return False
    if not check_mode:
        _run([creator, "-m", "venv", venv], os.path.dirname(venv) or ".", "osworld_eval_venv_python")
    return True


def ensure_requirements(venv: str, requirements: str, checkout: str, check_mode: bool) -> bool:
    if not os.path.isfile(requirements):
        raise OSWorldError(f"osworld_eval_requirements: {requirements} does not exist in the checkout")
    checksum = sha256_of(requirements)
    marker = os.path.join(venv, MARKER)
    try:
        with open(marker, encoding="utf-8") as handle:
            if handle.read().strip() == checksum:
                return False
    except FileNotFoundError:
        pass
    if not check_mode:
        _run([os.path.join(venv, "bin", "python"), "-m", "pip", "install", "--quiet", "-r", requirements], checkout, "osworld_eval_requirements")
        with open(marker, "w", encoding="utf-8") as handle:
            handle.write(checksum + "\n")
    return True


def ensure_files(directory: str, files: Mapping[str, str], check_mode: bool) -> bool:
    """Writes each file whose content differs (a trailing newline is added where missing)."""
    changed = False
    for name, text in sorted(files.items()):
        if os.path.basename(name) != name:
            raise OSWorldError(f"launcher file name '{name}' must be a plain file name")
        content = text if text.endswith("\n") else text + "\n"
        path = os.path.join(directory, name)
        try:
            with open(path, encoding="utf-8") as handle:
                if handle.read() == content:
                    continue
        except FileNotFoundError:
            pass
        changed = True
        if not check_mode:
            os.makedirs(directory, mode=0o755, exist_ok=True)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(content)
            os.chmod(path, 0o644)
    return changed


def install(venv: str, creator: str, requirements: str, checkout: str, launcher_dir: str, launcher_files: Mapping[str, str], check_mode: bool) -> list[str]:
    """What was (or would be) done: 'virtualenv', 'requirements', 'launcher'."""
    done = []
    if ensure_venv(venv, creator, check_mode):
        done.append("virtualenv")
    if ensure_requirements(venv, requirements, checkout, check_mode):
        done.append("requirements")
    if ensure_files(launcher_dir, launcher_files, check_mode):
        done.append("launcher")
    return done
