# Copyright: osworld.aws contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller side of osworld.aws.preflight: input checks make no AWS call (envs.yml,
teardown.yml and reap.yml ask for nothing else), so they run here, where starting a module
process would cost more than the checks. AWS checks, a target other than the controller, and
arguments the module must reject go to the module, which reports them in its own words."""
from __future__ import annotations

import os
from typing import Any

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.osworld.aws.plugins.module_utils._osworld.errors import OSWorldError
from ansible_collections.osworld.aws.plugins.module_utils._osworld.module import CONNECTION_ARGUMENT_SPEC
from ansible_collections.osworld.aws.plugins.module_utils._osworld.preflight_run import check_preflight_inputs, preflight_argument_spec

MODULE = "osworld.aws.preflight"
LOCAL = "local"


class ActionModule(ActionBase):
    _supports_check_mode = True

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = super().run(tmp, task_vars)
        # The local connection's modules run in the controller's environment, with its files: so do these checks.
        outcome = self._in_controller() if self._connection.transport == LOCAL else None
        if outcome is None:
            outcome = self._execute_module(module_name=MODULE, module_args=dict(self._task.args), task_vars=task_vars)
        result.update(outcome)
        return result

    def _in_controller(self) -> dict[str, Any] | None:
        """The input-only run's result, or None when the module must run."""
        validated = ArgumentSpecValidator({**CONNECTION_ARGUMENT_SPEC, **preflight_argument_spec()}).validate(dict(self._task.args))
        if validated.error_messages:
            return None
        # The module would see the task's `environment:` over the controller's; so must these checks.
        task_environment: dict[str, str] = {}
        self._compute_environment_string(task_environment)
        try:
            run = check_preflight_inputs(validated.validated_parameters, {**os.environ, **task_environment})
        except OSWorldError:
            return None
        return None if run.needs_aws else run.outcome()
