"""Starts and stops a real moto server on loopback for tests, the demo and benchmarks."""
from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType

AMIS_PATH = Path(__file__).with_name("amis.json")
APP_PATH = Path(__file__).with_name("moto_app.py")
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MotoServer:
    """moto's server (moto_app.py: plus save/restore) on 127.0.0.1 with the OSWorld AMI known in every region."""

    def __init__(self, port: int | None = None, extra_env: dict[str, str] | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._extra_env = extra_env or {}
        self._process: subprocess.Popen[bytes] | None = None
        # What save() was given beside moto's state (a test's files), by the name it was saved under.
        self.saved: dict[str, str] = {}

    def start(self) -> MotoServer:
        env = dict(os.environ, MOTO_AMIS_PATH=str(AMIS_PATH), MOTO_PORT=str(self.port), **self._extra_env)
        self._process = subprocess.Popen(
            [sys.executable, str(APP_PATH), "127.0.0.1", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"moto server exited with {self._process.returncode}")
            try:
                urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1).close()
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("moto server did not answer within 30 s")

    def reset(self) -> None:
        self._post("/moto-api/reset")

    def save(self, name: str, attachment: str = "") -> None:
        """Keeps the emulator's whole state under `name` (any string), with `attachment`, for restore()."""
        self._post(f"/osworld-test/save/{self._slot(name)}")
        self.saved[name] = attachment

    def restore(self, name: str) -> str:
        """Puts back the state that save(name) kept (what came after it is gone); returns the attachment."""
        self._post(f"/osworld-test/restore/{self._slot(name)}")
        return self.saved[name]

    @staticmethod
    def _slot(name: str) -> str:
        return hashlib.sha256(name.encode()).hexdigest()[:16]

    def _post(self, path: str) -> None:
        request = urllib.request.Request(f"{self.url}{path}", method="POST", data=b"")
        urllib.request.urlopen(request, timeout=30).close()

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


if __name__ == "__main__":
    # `python tests/support/moto_server.py PORT`: runs until killed (used by `make demo`).
    server = MotoServer(int(sys.argv[1]) if len(sys.argv) > 1 else None).start()
    print(server.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
