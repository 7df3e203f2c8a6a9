"""Stand-ins for the AWS class in pure-logic unit tests: answers from a script, every call recorded."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible_collections.osworld.aws.plugins.module_utils._osworld.aws import is_missing
from ansible_collections.osworld.aws.plugins.module_utils._osworld.errors import AWSCallError

Answer = Callable[[str, dict[str, Any]], Any]


class ScriptedAWS:
    """The two AWS methods the helpers use (call, paginate), answering from a script, recording each call.

    A listing's answer is either its items (a list) or the response (a dict) whose result key
    holds them.
    """

    def __init__(self, answer: Answer, region: str = "us-east-1") -> None:
        self.answer = answer
        self.region = region
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def call(self, service: str, operation: str, *, wait_for_consistency: bool = False, missing_ok: bool = False, **kwargs: Any) -> Any:
        self.calls.append((operation, kwargs))
        try:
            return self.answer(operation, kwargs)
        except AWSCallError as exc:
            # As AWS.call does: a NotFound answer is None when the caller expects the resource may be gone.
            if missing_ok and is_missing(exc):
                return None
            raise

    def paginate(self, service: str, operation: str, result_key: str, **kwargs: Any) -> list[Any]:
        self.calls.append((operation, kwargs))
        answer = self.answer(operation, kwargs)
        if isinstance(answer, dict):
            return list(answer.get(result_key.split("[")[0], []))
        return list(answer)

    def operations(self) -> list[str]:
        return [call[0] for call in self.calls]


class FakeClock:
    """A monotonic clock that moves only when slept on: waits and timeouts without waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
