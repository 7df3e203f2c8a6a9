"""Fixtures shared by every test suite: the moto server, the call-recording proxy, playbook runs."""
from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.harness import AWSHarness, ensure_collection_link  # noqa: E402
from tests.support.moto_server import MotoServer  # noqa: E402

ensure_collection_link()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@pytest.fixture
def aws(moto_server: MotoServer, tmp_path: Path) -> Iterator[AWSHarness]:
    """A fresh emulated account behind a recording proxy; ansible runs go through the proxy."""
    moto_server.reset()
    harness = AWSHarness(moto_server, tmp_path)
    try:
        yield harness
    finally:
        harness.close()
