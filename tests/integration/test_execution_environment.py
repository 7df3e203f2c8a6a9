"""execution-environment.yml: `ansible-builder create` succeeds, and the build context it writes
installs the same collection that collections/requirements.yml installs from the checkout."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
# What a playbook run needs from the collection; docs, tests and tooling need not be in the image.
RUNTIME_DIRS = ("meta", "plugins", "roles", "playbooks", "policies", "inventory")


def run(command: list[str], cwd: Path, tmp: Path) -> subprocess.CompletedProcess[str]:
    config = tmp / "empty-ansible.cfg"
    config.write_text("[defaults]\n")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ANSIBLE_", "AWS_"))}
    env.update(PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}", ANSIBLE_CONFIG=str(config))
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)


def installed_files(root: Path) -> set[str]:
    manifest = json.loads((root / "ansible_collections" / "osworld" / "aws" / "FILES.json").read_text())
    return {entry["name"] for entry in manifest["files"] if entry["ftype"] == "file" and entry["name"].startswith(RUNTIME_DIRS)}


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("ee")
    completed = run(
        [str(VENV_BIN / "ansible-builder"), "create", "-f", str(REPO / "execution-environment.yml"), "-c", str(tmp / "context"), "-v", "2"],
        tmp,
        tmp,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return tmp / "context"


def test_the_definition_is_version_3_with_boto3_and_botocore() -> None:
    definition = yaml.safe_load((REPO / "execution-environment.yml").read_text())
    assert definition["version"] == 3
    python = " ".join(definition["dependencies"]["python"])
    assert "boto3" in python and "botocore" in python


def test_create_writes_a_build_context(context: Path) -> None:
    containerfile = (context / "Dockerfile").read_text()
    assert "COPY _build /build" in containerfile
    assert "ansible-galaxy collection install" in containerfile
    requirements = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    assert {"name": "./osworld_aws", "type": "dir"} in requirements["collections"]
    python = (context / "_build" / "requirements.txt").read_text()
    assert "boto3" in python and "botocore" in python
    assert (context / "_build" / "osworld_aws" / "galaxy.yml").exists()


def test_the_context_installs_the_whole_collection(context: Path, tmp_path: Path) -> None:
    """The image's galaxy stage, run here: the same files as a project sync from the checkout."""
    image = tmp_path / "image"
    completed = run(
        [str(VENV_BIN / "ansible-galaxy"), "collection", "install", "-r", "requirements.yml", "-p", str(image), "--offline"],
        context / "_build",
        tmp_path,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    checkout = tmp_path / "checkout"
    completed = run(
        [str(VENV_BIN / "ansible-galaxy"), "collection", "install", "-r", "collections/requirements.yml", "-p", str(checkout), "--offline"],
        REPO,
        tmp_path,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr

    in_image, in_checkout = installed_files(image), installed_files(checkout)
    assert in_checkout - in_image == set()
    assert any(name.startswith("policies/") for name in in_image)

    # The roles read from the image's copy alone.
    env_doc = subprocess.run(
        [str(VENV_BIN / "ansible-doc"), "-t", "role", "osworld.aws.host", "--json"],
        cwd=tmp_path,
        env={**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(image), "ANSIBLE_CONFIG": str(tmp_path / "empty-ansible.cfg")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert env_doc.returncode == 0, env_doc.stderr
    assert "osworld_host_launch" in env_doc.stdout
