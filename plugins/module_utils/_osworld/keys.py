# This module util is PRIVATE to the collection. It may change without notice.
"""The SSH key pair of the VMs and the host (the guide's KEY_NAME), made for the user on request.

A key pair the collection creates is ED25519, tagged at creation, and its private key goes to a
file of mode 0600 that is never overwritten; the key material never leaves this module except
into that file (the caller registers it as a no_log value too). A key pair that exists is used as
is; teardown deletes only one that carries the collection's tag and the stack's.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .aws import AWS
from .errors import OSWorldError
from .options import Options, blank_is_none, extra_tags_option, option, stack_option
from .tags import is_stack_owned, stack_tags, tag_dict, tag_specifications

DEFAULT_KEY_NAME = "osworld_key"
KEY_TYPE = "ed25519"
COMPONENT_KEY_PAIR = "key-pair"
# The login of the OSWorld host's Ubuntu image, for the SSH command the summary prints.
SSH_USER = "ubuntu"
PUBLIC_KEY_PREFIXES = ("ssh-ed25519 ", "ssh-rsa ", "ecdsa-sha2-nistp256 ", "ecdsa-sha2-nistp384 ", "ecdsa-sha2-nistp521 ")

Hide = Callable[[str], None]


def name_or_default(value: str, name: str) -> str:  # pylint: disable=unused-argument  # a check's signature
    return value or DEFAULT_KEY_NAME


@dataclass(frozen=True)
class KeySpec(Options):
    """The options of osworld.aws.key_pair (preflight builds one to check a planned creation)."""

    name: str = option("str", DEFAULT_KEY_NAME, checks=[name_or_default])
    key_file: str | None = option("path", checks=[blank_is_none])
    public_key_file: str | None = option("path", checks=[blank_is_none])
    stack: str = stack_option()
    extra_tags: Mapping[str, Any] = extra_tags_option()
    state: str = option("str", "present", choices=("present", "absent"))

    def tags(self) -> dict[str, str]:
        return stack_tags(self.stack, COMPONENT_KEY_PAIR, self.name, self.extra_tags)


def key_file_path(key_file: str | None, name: str, region: str) -> str:
    """osworld_key_file, by default ~/.ssh/<key name>-<region>.pem (a key pair is regional)."""
    return os.path.abspath(os.path.expanduser(key_file or os.path.join("~", ".ssh", f"{name}-{region}.pem")))


def creation_problem(spec: KeySpec, region: str) -> tuple[str, str] | None:
    """(variable, message) when a missing key pair cannot be made without harm; no AWS call.

    Checked by preflight before anything is created, and again right before the create call.
    """
    if spec.public_key_file:
        path = os.path.expanduser(spec.public_key_file)
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read(16384).strip()
        except (OSError, UnicodeDecodeError) as exc:
            return "osworld_key_public_file", f"osworld_key_public_file: cannot read {path} ({exc})"
        if not text.startswith(PUBLIC_KEY_PREFIXES):
            return (
                "osworld_key_public_file",
                f"osworld_key_public_file: {path} is not an OpenSSH public key (ssh-ed25519 ..., ssh-rsa ...); give the .pub file, never the private key",
            )
        return None
    path = key_file_path(spec.key_file, spec.name, region)
    if os.path.lexists(path):
        return (
            "osworld_key_file",
            f"osworld_key_file: {path} exists and is never overwritten; key pair '{spec.name}' does not exist in {region}, "
            "so move that file away, set osworld_key_file to a new path, or import its public key with osworld_key_public_file",
        )
    return None


def describe_key(aws: AWS, name: str) -> dict[str, Any] | None:
    found = aws.call("ec2", "describe_key_pairs", KeyNames=[name], missing_ok=True)
    pairs = found.get("KeyPairs", []) if found else []
    return dict(pairs[0]) if pairs else None


def key_view(pair: Mapping[str, Any], spec: KeySpec, region: str, managed: bool) -> dict[str, Any]:
    path = key_file_path(spec.key_file, spec.name, region)
    return {
        "key_name": pair.get("KeyName", spec.name),
        "key_pair_id": pair.get("KeyPairId"),
        "key_type": pair.get("KeyType"),
        "key_fingerprint": pair.get("KeyFingerprint"),
        "managed": managed,
        "key_file": path,
        "key_file_exists": os.path.exists(path),
        "ssh_user": SSH_USER,
    }


def is_ours(pair: Mapping[str, Any], stack: str) -> bool:
    return is_stack_owned(tag_dict(pair.get("Tags")), stack)


def ensure_key_pair(aws: AWS, spec: KeySpec, check_mode: bool, hide: Hide) -> dict[str, Any]:
    """The key pair exists afterwards. 1 DescribeKeyPairs when it does already; else 1 CreateKeyPair
    (or ImportKeyPair) and the private key written to osworld_key_file."""
    existing = describe_key(aws, spec.name)
    if existing:
        return {"changed": False, "created": False, "imported": False, **key_view(existing, spec, aws.region, is_ours(existing, spec.stack))}
    problem = creation_problem(spec, aws.region)
    if problem:
        raise OSWorldError(problem[1])
    imported = bool(spec.public_key_file)
    planned = {"KeyName": spec.name, "KeyType": None if imported else KEY_TYPE}
    diff = {"before": {"key_name": None}, "after": {"key_name": spec.name}}
    if check_mode:
        return {"changed": True, "created": not imported, "imported": imported, "diff": diff, **key_view(planned, spec, aws.region, True)}
    tags = tag_specifications(["key-pair"], spec.tags())
    if imported:
        with open(os.path.expanduser(str(spec.public_key_file)), "rb") as handle:
            material = handle.read().strip()
        made = aws.call("ec2", "import_key_pair", KeyName=spec.name, PublicKeyMaterial=material, TagSpecifications=tags)
    else:
        made = aws.call("ec2", "create_key_pair", KeyName=spec.name, KeyType=KEY_TYPE, KeyFormat="pem", TagSpecifications=tags)
        # CreateKeyPair answers without the type it was asked for.
        made.setdefault("KeyType", KEY_TYPE)
        private_key = str(made.pop("KeyMaterial"))
        hide(private_key)
        path = key_file_path(spec.key_file, spec.name, aws.region)
        try:
            write_private_key(path, private_key)
        except OSError as exc:
            # A key pair whose private key is lost only blocks the next run: remove it.
            aws.call("ec2", "delete_key_pair", KeyName=spec.name)
            raise OSWorldError(f"osworld_key_file: cannot write {path} ({exc}); the key pair '{spec.name}' was deleted again") from exc
    return {"changed": True, "created": not imported, "imported": imported, "diff": diff, **key_view(made, spec, aws.region, True)}


def write_private_key(path: str, private_key: str) -> None:
    """Mode 0600 from the first byte, and O_EXCL: an existing file is never overwritten."""
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(private_key if private_key.endswith("\n") else private_key + "\n")


def remove_key_pair(aws: AWS, spec: KeySpec, check_mode: bool) -> dict[str, Any]:
    """Deletes the key pair only when the collection created it for this stack (its tags); the
    private key file stays where it is, and the result says where."""
    existing = describe_key(aws, spec.name)
    if not existing:
        view = key_view({}, spec, aws.region, False)
        return {"changed": False, "deleted": False, **view, "msg": f"No key pair '{spec.name}' in {aws.region}"}
    ours = is_ours(existing, spec.stack)
    view = key_view(existing, spec, aws.region, ours)
    if not ours:
        return {"changed": False, "deleted": False, **view, "msg": f"Key pair '{spec.name}' was not created by stack {spec.stack}: left in place"}
    if not check_mode:
        aws.call("ec2", "delete_key_pair", KeyName=spec.name)
    kept = f"; its private key stays in {view['key_file']}" if view["key_file_exists"] else ""
    return {
        "changed": True,
        "deleted": True,
        **view,
        "diff": {"before": {"key_name": spec.name}, "after": {"key_name": None}},
        "msg": f"Key pair '{spec.name}' deleted from {aws.region}{kept}",
    }
