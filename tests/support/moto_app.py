"""`python -m tests.support.moto_app HOST PORT`: moto's own server plus two test-only endpoints.

POST /osworld-test/save/<name> keeps the emulator's whole state (every backend moto created so
far) under a name; POST /osworld-test/restore/<name> resets moto and puts that state back. A test
that needs a provisioned account restores one instead of running provision.yml again: the state is
the one a real provision.yml run left, not one a test wrote by hand.
"""
from __future__ import annotations

import pickle
import sys
from collections.abc import Callable, Iterable
from typing import Any

from moto.core.base_backend import BackendDict
from moto.moto_api import _internal as moto_api
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple

PREFIX = "/osworld-test/"
StartResponse = Callable[..., Any]


class SnapshotApp:
    """Wraps moto's WSGI app; only the two paths above are handled here, everything else is moto's."""

    def __init__(self, moto_app: DomainDispatcherApplication) -> None:
        self.moto_app = moto_app
        self.saved: dict[str, bytes] = {}
        # moto's reset forgets which service backends are in use; the objects themselves live on.
        self.backends: dict[str, BackendDict[Any]] = {}

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        if not path.startswith(PREFIX) or environ.get("REQUEST_METHOD") != "POST":
            return self.moto_app(environ, start_response)
        verb, name = (path[len(PREFIX) :].split("/", 1) + [""])[:2]
        if verb == "save":
            self.saved[name] = self._dump()
        elif verb == "restore" and name in self.saved:
            self._load(self.saved[name])
        else:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [f"no saved state {name!r}".encode()]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    def _dump(self) -> bytes:
        self.backends.update((backends._id, backends) for backends in BackendDict._instances)
        # One pickle for all services, so that objects shared between backends stay shared.
        return pickle.dumps({backends._id: dict(backends) for backends in BackendDict._instances})

    def _load(self, blob: bytes) -> None:
        moto_api.moto_api_backend.reset()
        for backend_id, accounts in pickle.loads(blob).items():
            backends = self.backends[backend_id]
            backends.update(accounts)
            BackendDict._instances.append(backends)


def main(host: str, port: int) -> None:
    run_simple(host, port, SnapshotApp(DomainDispatcherApplication(create_backend_app)), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
