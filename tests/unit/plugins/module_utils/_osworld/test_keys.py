"""keys.py: the key pair's local side (the private key file), pure logic."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from ansible_collections.osworld.aws.plugins.module_utils._osworld.keys import KeySpec, creation_problem, key_file_path, write_private_key


# --- the key pair's file ---------------------------------------------------------------------


def test_key_file_defaults_to_ssh_dir_by_name_and_region() -> None:
    assert key_file_path(None, "osworld_key", "eu-west-1") == os.path.expanduser("~/.ssh/osworld_key-eu-west-1.pem")
    assert key_file_path("/tmp/k.pem", "x", "eu-west-1") == "/tmp/k.pem"


def test_private_key_is_written_0600_and_never_over_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "new" / "key.pem"
    write_private_key(str(path), "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    with pytest.raises(FileExistsError):
        write_private_key(str(path), "other")
    assert "other" not in path.read_text()


def test_creation_problems_name_the_variable(tmp_path: Path) -> None:
    existing = tmp_path / "taken.pem"
    existing.write_text("someone's key")
    ((variable, message)) = creation_problem(KeySpec(key_file=str(existing)), "eu-west-1")  # type: ignore[misc]
    assert variable == "osworld_key_file" and "never overwritten" in message
    assert creation_problem(KeySpec(key_file=str(tmp_path / "free.pem")), "eu-west-1") is None
    private = tmp_path / "id"
    private.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    assert creation_problem(KeySpec(public_key_file=str(private)), "eu-west-1")[0] == "osworld_key_public_file"  # type: ignore[index]
    assert creation_problem(KeySpec(public_key_file=str(tmp_path / "missing.pub")), "eu-west-1")[0] == "osworld_key_public_file"  # type: ignore[index]
    public = tmp_path / "id.pub"
    public.write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB me@host\n")
    assert creation_problem(KeySpec(public_key_file=str(public), key_file=str(existing)), "eu-west-1") is None
