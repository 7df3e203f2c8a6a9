# Copyright: osworld.aws contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Starts OSWorld's runner for osworld.aws: `python osworld_eval_launch.py <script> [args...]`.

Loads the model keys from the 0600 file named by OSWORLD_AWS_EVAL_KEYS into the environment (the
runner and its workers inherit them; they are never on a command line), checks that this
directory's sitecustomize hook is active, runs the script as __main__, as `python <script>` would,
and records its exit code in the file named by OSWORLD_AWS_EVAL_EXIT.
"""
from __future__ import annotations

import json
import os
import runpy
import sys

KEYS_ENV = "OSWORLD_AWS_EVAL_KEYS"
EXIT_ENV = "OSWORLD_AWS_EVAL_EXIT"


def load_keys():
    path = os.environ.pop(KEYS_ENV, "")
    if path:
        with open(path, encoding="utf-8") as handle:
            os.environ.update({str(key): str(value) for key, value in json.load(handle).items()})


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: osworld_eval_launch.py <runner script> [arguments...]")
    hook = sys.modules.get("sitecustomize")
    if not getattr(hook, "OSWORLD_AWS_HOOK", False):
        sys.exit("osworld.aws launcher: the sitecustomize hook is not active (PYTHONPATH or OSWORLD_AWS_EVAL_SETTINGS missing)")
    load_keys()
    script = os.path.abspath(sys.argv[1])
    sys.argv = [script, *sys.argv[2:]]
    sys.path[0] = os.path.dirname(script)
    exit_path = os.environ.pop(EXIT_ENV, "")
    code = 1
    try:
        runpy.run_path(script, run_name="__main__")
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        raise
    finally:
        # A killed runner writes nothing: the role tells "died" from "failed" by this file.
        if exit_path:
            with open(exit_path, "w", encoding="utf-8") as handle:
                json.dump({"exit_code": code}, handle)


if __name__ == "__main__":
    main()
