# Copyright: osworld.aws contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller side of osworld.aws.eval_run: with `wait`, poll the run on its host until it
ends, print one progress line per poll, and stop it once `timeout` has passed since it began."""
from __future__ import annotations

import time
from typing import Any

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.osworld.aws.plugins.module_utils._osworld.eval_runs import RunSpec

display = Display()
MODULE = "osworld.aws.eval_run"
# The module's defaults of the options this side reads, from the one place that declares them.
DEFAULTS = {name: option.get("default") for name, option in RunSpec.argument_spec().items()}
NO_LOG = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


class ActionModule(ActionBase):
    _supports_check_mode = True

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        wait = boolean(args.get("wait", DEFAULTS["wait"]), strict=False)
        timeout = float(args.get("timeout", DEFAULTS["timeout"]))
        interval = float(args.get("poll_interval", DEFAULTS["poll_interval"]))
        answer = self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars)
        if answer.get("failed") or not wait or self._task.check_mode or args.get("state") == "absent":
            result.update(answer)
            return result
        host = (task_vars or {}).get("inventory_hostname", "")
        args.update(run_id=answer["run_id"], state="present")
        changed = bool(answer.get("changed"))
        lines: list[str] = []
        while answer.get("running") and not answer.get("failed"):
            if answer.get("progress"):
                line = f"{answer['run_id']}: {answer['progress']}"
                lines.append(line)
                display.display(f"[{host}] {line}")
            if float(answer.get("elapsed_seconds") or 0) + interval > timeout:
                answer = self._stop_after_timeout(args, task_vars, timeout)
                changed = True
                break
            time.sleep(interval)
            answer = self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars)
            changed = changed or bool(answer.get("changed"))
        result.update(answer)
        result["changed"] = changed
        result["progress_lines"] = lines
        return result

    def _execute_module(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        answer: dict[str, Any] = super()._execute_module(*args, **kwargs)
        # However the keys were given, the echoed arguments never carry them.
        module_args = answer.get("invocation", {}).get("module_args", {})
        if module_args.get("env"):
            module_args["env"] = NO_LOG
        return answer

    def _stop_after_timeout(self, args: dict[str, Any], task_vars: dict[str, Any] | None, timeout: float) -> dict[str, Any]:
        """Stops the run (its VMs terminated, summary written) and fails, naming the variable to raise."""
        stopped = self._execute_module(module_name=MODULE, module_args=dict(args, state="absent", stop_reason="timed out"), task_vars=task_vars)
        if not stopped.get("failed"):
            stopped["failed"] = True
            stopped["msg"] = (
                f"run {args['run_id']} did not end within {int(timeout)} s (osworld_eval_timeout): stopped, "
                f"{stopped.get('vms_terminated', 0)} VMs terminated, partial summary in {stopped.get('summary_file')}"
            )
        return stopped
