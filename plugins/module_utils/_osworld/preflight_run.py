# This module util is PRIVATE to the collection. It may change without notice.
"""One preflight run, shared by the preflight module and its action plugin: the input checks
(no AWS call), and the report as the task's result.

Playbooks that only scale or delete VMs ask for input checks only, so the action plugin runs
those in the controller, where starting a module process would cost more than the checks; the
module runs them too, before its AWS checks.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .aws import known_regions
from .checks import HOST_INPUTS, Report, failure_message
from .defaults import region as default_region
from .host_checks import HostInput, check_host_inputs
from .keys import DEFAULT_KEY_NAME
from .preflight import AWS_CHECKS, PreflightInput, check_inputs, environment_notices, expand_checks


def preflight_argument_spec() -> dict[str, dict[str, Any]]:
    """The preflight module's own options (the connection options come with every module)."""
    return {**PreflightInput.argument_spec(), **HostInput.argument_spec()}


@dataclass
class PreflightRun:
    inputs: PreflightInput
    host: HostInput
    checks: list[str]
    report: Report

    @property
    def needs_aws(self) -> bool:
        """An AWS check was asked for, and the inputs it reads passed."""
        return not self.report.errors and any(check in AWS_CHECKS for check in self.checks)

    def outcome(self) -> dict[str, Any]:
        """The task's result: failed, with one message listing every error, when there is any."""
        result: dict[str, Any] = {
            "changed": False,
            "checks": self.checks,
            "findings": [finding.as_dict() for finding in self.report.findings],
            "skipped_checks": self.report.skipped,
            "notices": self.report.notices,
            "warnings": [warning.message for warning in self.report.warnings],
        }
        if self.report.errors:
            # The exported variables that supplied an input are named too: the user may not expect them.
            told = f" ({'; '.join(self.report.notices)})" if self.report.notices else ""
            return {**result, "failed": True, "msg": failure_message(self.report.errors) + told}
        return {**result, **self.report.facts}


def check_preflight_inputs(params: Mapping[str, Any], environ: Mapping[str, str]) -> PreflightRun:
    """The input checks of the requested checks (and of those the AWS checks imply), before any AWS
    session exists: a bad region is reported by its playbook name, and nothing is called with it.
    Raises OptionsError for options that fail their own checks."""
    inputs = PreflightInput.from_params(
        params,
        region=params.get("region") or default_region(environ),
        key_name=params.get("key_name") or (DEFAULT_KEY_NAME if params.get("key_create") else None),
    )
    host = HostInput.from_params(params)
    checks = expand_checks(inputs.checks)
    report = check_inputs(inputs, checks, known_regions())
    if HOST_INPUTS in checks:
        check_host_inputs(report, host, inputs.name_prefix, inputs.region)
    report.notices = environment_notices(inputs, environ)
    return PreflightRun(inputs, host, checks, report)
