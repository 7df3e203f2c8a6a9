# This module util is PRIVATE to the collection. It may change without notice.
"""AWS sessions and calls with the collection's single retry policy.

botocore's standard retry mode handles throttling, 5xx and dropped connections with
jittered exponential backoff. The only other retry here covers eventual consistency:
a resource created a moment ago that another endpoint does not know yet.
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib.util import find_spec
from typing import Any

from .errors import AWSCallError, OSWorldError, from_botocore

# Looked for, not imported: ansible loads the osworld.aws.ec2 inventory plugin, and so this file,
# in every run whose configuration enables it, and importing boto3 costs a third of a second of
# CPU that a playbook which never uses the plugin would pay. boto3 is imported where it is used.
HAS_BOTO3 = find_spec("boto3") is not None and find_spec("botocore") is not None

USER_AGENT = "osworld.aws/0.1.0"
MAX_ATTEMPTS = 10
EVENTUAL_CONSISTENCY_CODES = frozenset(
    {
        "InvalidInstanceID.NotFound",
        "InvalidGroup.NotFound",
        "InvalidGroupId.NotFound",
        "InvalidVpcID.NotFound",
        "InvalidSubnetID.NotFound",
        "InvalidRouteTableID.NotFound",
        "InvalidInternetGatewayID.NotFound",
        # IAM: a role or profile just created may not be found for a few seconds.
        "NoSuchEntity",
    }
)
# 0.5 s doubling to 8 s: about 30 s in all, long enough for EC2's usual propagation delay.
CONSISTENCY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0)
# A terminated VM's network interface lingers for a minute or two; until it goes, deleting its
# security group, subnet or VPC answers DependencyViolation. About two minutes in all.
RELEASE_CODE = "DependencyViolation"
RELEASE_DELAYS = (2.0, 4.0, 8.0, 15.0, 15.0, 15.0, 15.0, 15.0, 15.0, 15.0)


@dataclass(frozen=True)
class ConnectionParams:
    region: str
    endpoint_url: str | None = None
    profile: str | None = None
    access_key: str | None = None
    secret_key: str | None = None
    session_token: str | None = None

    @classmethod
    def from_options(cls, region: str, get: Callable[[str], Any]) -> ConnectionParams:
        """From the connection options of the doc fragment osworld.aws.connection, read by `get`
        (a module's params or a plugin's get_option); empty means not set."""
        return cls(region=region, **{name: get(name) or None for name in CREDENTIAL_OPTIONS})


# The connection options besides the region, which modules and the inventory plugin name differently.
CREDENTIAL_OPTIONS = ("endpoint_url", "profile", "access_key", "secret_key", "session_token")


def retry_config(configured_attempts: int | None = None) -> Any:
    """The one retry policy: standard mode, with the attempts the user gave botocore
    (AWS_MAX_ATTEMPTS, or max_attempts in the profile) or else MAX_ATTEMPTS. A Config that names
    its attempts overrides botocore's own settings, so they are read and passed on here."""
    from botocore.config import Config

    return Config(
        retries={"mode": "standard", "total_max_attempts": configured_attempts or MAX_ATTEMPTS},
        connect_timeout=10,
        read_timeout=60,
        user_agent_extra=USER_AGENT,
    )


def known_regions() -> list[str]:
    """The regions of every partition in botocore's partitions.json, for a spelling hint only (an
    empty list when it cannot be read). Read as a file, not through a botocore session, which
    would import botocore and parse its 1 MB endpoint list: about 0.37 s of CPU, more than half of
    what a preflight run that makes no AWS call takes."""
    spec = find_spec("botocore") if HAS_BOTO3 else None
    for location in (spec.submodule_search_locations or []) if spec else []:
        try:
            with open(os.path.join(location, "data", "partitions.json"), encoding="utf-8") as data:
                partitions = json.load(data)["partitions"]
            regions = [region for partition in partitions for region in partition.get("regions", {})]
            # aws-global and the like name endpoints, not regions.
            return sorted(region for region in regions if not region.endswith("-global"))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
    return []


def library_versions() -> dict[str, str]:
    if not HAS_BOTO3:
        return {}
    import boto3
    import botocore

    return {"boto3_version": boto3.__version__, "botocore_version": botocore.__version__}


class AWS:
    """One region's AWS clients, created lazily and shared by every call of a module run."""

    def __init__(self, params: ConnectionParams, sleep: Callable[[float], None] = time.sleep, *, timestamps_as_text: bool = False) -> None:
        """`timestamps_as_text`: answers keep their timestamps as AWS wrote them (ISO 8601 text, which
        timestamps.parse_utc reads). botocore otherwise parses every one with dateutil, a sixth of
        the CPU of listing a thousand instances, of which the inventory reads one a host."""
        if not HAS_BOTO3:
            raise OSWorldError("boto3 and botocore are required: pip install boto3")
        self.params = params
        self.region = params.region
        self._sleep = sleep
        self._clients: dict[str, Any] = {}
        import boto3.session
        import botocore.session
        from botocore.exceptions import BotoCoreError

        try:
            botocore_session = botocore.session.Session(profile=params.profile)
            if timestamps_as_text:
                botocore_session.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=str)
            self._session = boto3.session.Session(
                botocore_session=botocore_session,
                aws_access_key_id=params.access_key,
                aws_secret_access_key=params.secret_key,
                aws_session_token=params.session_token,
                region_name=params.region,
            )
            self._retries = retry_config(botocore_session.get_config_variable("max_attempts"))
        except BotoCoreError as exc:
            raise OSWorldError(f"Cannot open an AWS session: {exc}") from exc
        except ValueError as exc:
            raise OSWorldError(f"AWS_MAX_ATTEMPTS (or max_attempts in the AWS profile) must be a whole number: {exc}") from exc

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._session.client(
                service,
                region_name=self.region,
                # None lets botocore read AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> itself.
                endpoint_url=self.params.endpoint_url or None,
                config=self._retries,
            )
        return self._clients[service]

    def call(
        self,
        service: str,
        operation: str,
        *,
        wait_for_consistency: bool = False,
        wait_for_release: bool = False,
        missing_ok: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Calls `operation` (botocore's snake_case name); AWS failures become AWSCallError.

        wait_for_consistency: a NotFound for a resource just created is retried a few times
        before it counts as real. wait_for_release: a delete answered DependencyViolation is
        retried for about two minutes (the last answer is raised). missing_ok: a NotFound
        answer returns None (a delete of what is already gone, a lookup of what may not exist).
        """
        from botocore.exceptions import BotoCoreError, ClientError

        method = getattr(self.client(service), operation)
        retried = EVENTUAL_CONSISTENCY_CODES if wait_for_consistency else frozenset({RELEASE_CODE} if wait_for_release else ())
        delays: Iterable[float] = CONSISTENCY_DELAYS if wait_for_consistency else RELEASE_DELAYS if wait_for_release else ()
        for delay in (*delays, None):
            try:
                return method(**kwargs)
            except ClientError as exc:
                error = from_botocore(operation, exc, service)
                if missing_ok and is_missing(error):
                    return None
                if delay is None or error.code not in retried:
                    raise error from exc
                self._sleep(delay)
            except BotoCoreError as exc:
                raise from_botocore(operation, exc, service) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def paginate(self, service: str, operation: str, result_key: str, **kwargs: Any) -> list[Any]:
        """Every item of `result_key` over all pages (a nested key like Reservations[].Instances[] works)."""
        from botocore.exceptions import BotoCoreError, ClientError

        paginator = self.client(service).get_paginator(operation)
        try:
            return list(paginator.paginate(**kwargs).search(result_key))
        except (ClientError, BotoCoreError) as exc:
            raise from_botocore(operation, exc, service) from exc

    def caller_access_key(self) -> str | None:
        """The access key id in use, resolved locally (no API call): identifies the account for caches."""
        credentials = self._session.get_credentials()
        return credentials.access_key if credentials else None


def is_missing(error: AWSCallError) -> bool:
    """EC2's `<Resource>.NotFound` (and `.Malformed` ids, which name nothing either), IAM's NoSuchEntity."""
    return error.code.endswith((".NotFound", ".Malformed")) or error.code == "NoSuchEntity"


def env_region(environ: Mapping[str, str] | None = None) -> str | None:
    environ = os.environ if environ is None else environ
    return environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
