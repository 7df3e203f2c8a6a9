# This module util is PRIVATE to the collection. It may change without notice.
"""The base of every osworld.aws module: connection options, one AWS handle, one failure path."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from .aws import AWS, HAS_BOTO3, ConnectionParams, library_versions
from .defaults import region as default_region
from .errors import AWSCallError, OSWorldError
from .options import Options, SpecT
from .validation import validate_region

# Documented by the doc fragment osworld.aws.connection (and its MODULES variant).
CONNECTION_ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "region": {"type": "str", "aliases": ["aws_region"]},
    "endpoint_url": {"type": "str", "aliases": ["aws_endpoint_url"]},
    "profile": {"type": "str", "aliases": ["aws_profile"]},
    "access_key": {"type": "str", "aliases": ["aws_access_key_id"], "no_log": False},
    "secret_key": {"type": "str", "aliases": ["aws_secret_access_key"], "no_log": True},
    "session_token": {"type": "str", "aliases": ["aws_session_token"], "no_log": True},
}


class OSWorldAWSModule:
    """AnsibleModule plus the connection options and the collection's error reporting."""

    def __init__(self, argument_spec: dict[str, Any] | type[Options], **kwargs: Any) -> None:
        """`argument_spec` is a dict, or the Options class whose fields are the module's options."""
        spec = dict(CONNECTION_ARGUMENT_SPEC)
        spec.update(argument_spec if isinstance(argument_spec, dict) else argument_spec.argument_spec())
        self.module = AnsibleModule(argument_spec=spec, **kwargs)
        if not HAS_BOTO3:
            self.module.fail_json(msg=missing_required_lib("boto3"))
        self.params: dict[str, Any] = self.module.params
        self.check_mode: bool = self.module.check_mode
        self.diff_mode: bool = self.module._diff

    def connection_params(self) -> ConnectionParams:
        region = self.params["region"] or default_region()
        return ConnectionParams.from_options(validate_region(region, "region"), self.params.get)

    def options(self, spec_class: type[SpecT], **given: Any) -> SpecT:
        """The module's params as `spec_class`, checked before any AWS session exists: a bad input
        fails here, with every problem in one message."""
        try:
            return spec_class.from_params(self.params, **given)
        except OSWorldError as exc:
            self.module.fail_json(msg=exc.message, **exc.details)
            raise  # fail_json exits; this keeps the type checker informed

    def warn(self, message: str) -> None:
        self.module.warn(message)

    def run(self, action: Callable[[AWS], dict[str, Any]]) -> None:
        """Runs `action` against AWS and exits; every failure leaves through fail_json here, and
        the action's `warnings` (a list of strings) become Ansible warnings."""
        try:
            aws = AWS(self.connection_params())
            result = action(aws)
        except AWSCallError as exc:
            self.module.fail_json(msg=exc.message, **exc.as_result(), **library_versions())
        except OSWorldError as exc:
            self.module.fail_json(msg=exc.message, **exc.details)
        for warning in result.pop("warnings", []):
            self.module.warn(warning)
        if not self.diff_mode:
            result.pop("diff", None)
        self.module.exit_json(**result)


Action = Callable[[AWS, Any, OSWorldAWSModule], dict[str, Any]]


def run_module(spec_class: type[Options], present: Action, absent: Action | None = None, **module_kwargs: Any) -> None:
    """The whole main() of a module whose options are one spec class: the options checked before any
    AWS session exists, then `present` (or, with state=absent, `absent`) against AWS."""
    module = OSWorldAWSModule(spec_class, supports_check_mode=True, **module_kwargs)
    spec = module.options(spec_class)
    action = absent if absent is not None and getattr(spec, "state", "present") == "absent" else present
    module.run(lambda aws: action(aws, spec, module))
