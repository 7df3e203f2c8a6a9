"""The tests' build caches: AnsiballZ payloads kept per source key, bytecode compiled once per source."""
from __future__ import annotations

import importlib
import json
import sys
import types
import zipfile
import zipimport
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.build_caches.sitecustomize import AfterImport, LocalTmpOverride, caching, parsed_once, payload_dir, sources_key

SOURCE = b"def outer():\n    def inner():\n        raise ValueError('from inner')\n    return inner\n"


def counting_compiler(calls: list[str]) -> Callable[[str, bytes], types.CodeType]:
    def compile_source(pathname: str, source: bytes) -> types.CodeType:
        calls.append(pathname)
        return compile(source, pathname, "exec", dont_inherit=True)

    return compile_source


def test_a_second_import_of_the_same_source_is_not_compiled_and_names_its_own_path(tmp_path: Path) -> None:
    calls: list[str] = []
    compile_cached = caching(counting_compiler(calls), str(tmp_path))
    first = compile_cached("/tmp/payload_a.zip/mod.py", SOURCE)
    second = compile_cached("/tmp/payload_b.zip/mod.py", SOURCE)
    assert calls == ["/tmp/payload_a.zip/mod.py"]
    assert first is not None and second is not None
    assert second.co_code == first.co_code
    outer = next(const for const in second.co_consts if isinstance(const, types.CodeType))
    inner = next(const for const in outer.co_consts if isinstance(const, types.CodeType))
    assert {second.co_filename, outer.co_filename, inner.co_filename} == {"/tmp/payload_b.zip/mod.py"}


def test_other_source_is_compiled_and_a_damaged_entry_is_compiled_again(tmp_path: Path) -> None:
    calls: list[str] = []
    compile_cached = caching(counting_compiler(calls), str(tmp_path))
    compile_cached("a.py", SOURCE)
    compile_cached("b.py", SOURCE + b"X = 1\n")
    assert calls == ["a.py", "b.py"]
    for entry in tmp_path.iterdir():
        entry.write_bytes(b"\x00")
    compile_cached("c.py", SOURCE)
    assert calls == ["a.py", "b.py", "c.py"]


def test_a_module_imported_from_a_zip_through_the_cache_runs_and_its_traceback_names_the_zip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    payload = tmp_path / "payload.zip"
    with zipfile.ZipFile(payload, "w") as archive:
        archive.writestr("cached_mod.py", SOURCE)
    (tmp_path / "cache").mkdir()
    monkeypatch.syspath_prepend(str(payload))
    monkeypatch.setattr(zipimport, "_compile_source", caching(zipimport._compile_source, str(tmp_path / "cache")))
    for attempt in ("compiled", "from the cache"):
        monkeypatch.delitem(sys.modules, "cached_mod", raising=False)
        module = importlib.import_module("cached_mod")
        with pytest.raises(ValueError) as raised:
            module.outer()()
        assert str(raised.traceback[-1].path) == str(payload / "cached_mod.py"), attempt
    assert len(list((tmp_path / "cache").iterdir())) == 1
    monkeypatch.delitem(sys.modules, "cached_mod", raising=False)


def test_the_payload_key_changes_with_any_python_file_under_the_roots_and_with_the_markers(tmp_path: Path) -> None:
    root = tmp_path / "plugins"
    (root / "modules").mkdir(parents=True)
    module = root / "modules" / "network.py"
    module.write_text("A = 1\n")
    marker = tmp_path / "ansible_core-2.19.dist-info" / "RECORD"
    marker.parent.mkdir()
    marker.write_text("x\n")
    # Each edit changes the size too: the kernel stamps mtimes from a clock that ticks every few ms.
    keys = [sources_key([root], [marker])]
    assert sources_key([root], [marker]) == keys[0]
    module.write_text("A = 22\n")
    keys.append(sources_key([root], [marker]))
    (root / "modules" / "fleet.py").write_text("")
    keys.append(sources_key([root], [marker]))
    (root / "modules" / "fleet.py").unlink()
    module.write_text("A = 333\n")
    keys.append(sources_key([root], [marker]))
    marker.write_text("reinstalled\n")
    keys.append(sources_key([root], [marker]))
    assert len(set(keys)) == len(keys)


def test_module_common_keeps_its_payloads_where_it_is_told_and_sees_every_other_constant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "fake_module_common.py").write_text(
        "import types\nC = types.SimpleNamespace(DEFAULT_LOCAL_TMP='/tmp/ansible-local-1', DEFAULT_KEEP_REMOTE_FILES=False)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "fake_module_common", raising=False)
    resolved: list[str] = []

    def keep(module: types.ModuleType) -> None:
        module.C = LocalTmpOverride(module.C, lambda: resolved.append("kept") or str(tmp_path / "kept"))

    finder = AfterImport("fake_module_common", keep)
    monkeypatch.setattr(sys, "meta_path", [finder, *sys.meta_path])
    module = importlib.import_module("fake_module_common")
    assert finder not in sys.meta_path
    assert module.C.DEFAULT_LOCAL_TMP == str(tmp_path / "kept")
    assert module.C.DEFAULT_LOCAL_TMP == str(tmp_path / "kept")
    assert resolved == ["kept"]
    assert module.C.DEFAULT_KEEP_REMOTE_FILES is False
    monkeypatch.delitem(sys.modules, "fake_module_common")


def test_a_new_key_gets_its_own_directory_and_older_keys_go(tmp_path: Path) -> None:
    (tmp_path / "old-key" / "ansiballz_cache").mkdir(parents=True)
    assert payload_dir(tmp_path, "new-key") == str(tmp_path / "new-key")
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["new-key"]
    (tmp_path / "new-key" / "ansiballz_cache").mkdir()
    assert payload_dir(tmp_path, "new-key") == str(tmp_path / "new-key")
    assert (tmp_path / "new-key" / "ansiballz_cache").is_dir()


def test_a_botocore_model_is_parsed_once_per_file_version_and_comes_back_as_botocore_built_it(tmp_path: Path) -> None:
    parsed: list[str] = []

    def load_file(loader: object, full_path: str, open_method: Callable[..., Any]) -> Any:
        if not Path(full_path).is_file():  # as botocore's: a missing file is None
            return None
        parsed.append(full_path)
        with open_method(full_path, "rb") as source:
            return json.loads(source.read().decode("utf-8"), object_pairs_hook=OrderedDict)

    (tmp_path / "cache").mkdir()
    model = tmp_path / "service-2.json"
    model.write_text('{"operations": {"B": 1, "A": 2}}')
    load = parsed_once(load_file, str(tmp_path / "cache"))
    first, second = load(None, str(model), open), load(None, str(model), open)
    assert parsed == [str(model)]
    assert second == first and isinstance(second, OrderedDict) and list(second["operations"]) == ["B", "A"]

    model.write_text('{"operations": {"C": 3}}')
    assert load(None, str(model), open) == {"operations": {"C": 3}} and len(parsed) == 2
    for entry in (tmp_path / "cache").iterdir():
        entry.write_bytes(b"\x00")
    assert load(None, str(model), open) == {"operations": {"C": 3}} and len(parsed) == 3
    assert load(None, str(tmp_path / "absent.json"), open) is None
