"""An emulated account that enforces IAM: moto server with INITIAL_NO_AUTH_ACTION_COUNT.

The first BOOTSTRAP_CALLS requests create an administrator (unrestricted calls stop there);
the administrator then creates users holding only a given policy, whose keys the playbooks use.

moto evaluates a statement's Action (and Effect) against the resource "*" for EC2 calls, and
ignores conditions other than a few StringEquals keys it fills itself. So a policy scoped by
resource ARNs and conditions, as policies/operator.json is, is handed to moto as its "moto view":
the same statements with Resource "*". That proves the action list is sufficient; the scoping
itself is checked statically (tests/unit/test_policies.py) and documented in docs/iam.md.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3

from .moto_server import FAKE_CREDENTIALS, MotoServer

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "policies"
BOOTSTRAP_CALLS = 3
REGION = "us-east-1"
ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def load_policy(name: str) -> dict[str, Any]:
    return dict(json.loads((POLICIES / name).read_text()))


def actions_of(policy: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for statement in policy["Statement"]:
        listed = statement.get("Action", [])
        found.update([listed] if isinstance(listed, str) else listed)
    return found


def moto_view(policy: dict[str, Any]) -> dict[str, Any]:
    """The policy as moto can evaluate it: every statement on Resource "*" (see the module docstring)."""
    view = copy.deepcopy(policy)
    for statement in view["Statement"]:
        statement["Resource"] = "*"
    return view


def without_action(policy: dict[str, Any], action: str) -> dict[str, Any]:
    """The policy with one action removed from every statement (statements left empty are dropped)."""
    trimmed = copy.deepcopy(policy)
    kept = []
    for statement in trimmed["Statement"]:
        listed = statement["Action"]
        listed = [listed] if isinstance(listed, str) else listed
        statement["Action"] = [name for name in listed if name != action]
        if statement["Action"]:
            kept.append(statement)
    trimmed["Statement"] = kept
    return trimmed


class IAMEnforcingAccount:
    """A moto server of its own (IAM enforcement cannot be switched off once on) and its administrator."""

    def __init__(self) -> None:
        self.server = MotoServer(extra_env={"INITIAL_NO_AUTH_ACTION_COUNT": str(BOOTSTRAP_CALLS)})
        self.admin: dict[str, str] = {}

    def __enter__(self) -> IAMEnforcingAccount:
        self.server.start()
        try:
            iam = self._client("iam", FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"], FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
            iam.create_user(UserName="osworld-test-admin")
            iam.put_user_policy(UserName="osworld-test-admin", PolicyName="admin", PolicyDocument=json.dumps(ADMIN_POLICY))
            key = iam.create_access_key(UserName="osworld-test-admin")["AccessKey"]
        except BaseException:
            self.server.stop()
            raise
        self.admin = {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"], "AWS_SESSION_TOKEN": ""}
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.server.stop()

    def _client(self, service: str, key: str, secret: str, region: str = REGION) -> Any:
        return boto3.client(service, region_name=region, endpoint_url=self.server.url, aws_access_key_id=key, aws_secret_access_key=secret)

    def client(self, service: str = "ec2", region: str = REGION) -> Any:
        """A client acting as the administrator: to arrange and to read state back."""
        return self._client(service, self.admin["AWS_ACCESS_KEY_ID"], self.admin["AWS_SECRET_ACCESS_KEY"], region)

    def user_with_policy(self, name: str, policy: dict[str, Any]) -> dict[str, str]:
        """Environment variables of a new user whose only permission is `policy` (a managed policy, as users attach it)."""
        iam = self.client("iam")
        iam.create_user(UserName=name)
        arn = iam.create_policy(PolicyName=f"{name}-policy", PolicyDocument=json.dumps(policy))["Policy"]["Arn"]
        iam.attach_user_policy(UserName=name, PolicyArn=arn)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        # An empty token makes botocore sign without one (the harness's default credentials carry one).
        return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"], "AWS_SESSION_TOKEN": ""}
