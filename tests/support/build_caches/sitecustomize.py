"""Keeps what ansible builds and Python compiles for a module run, for the test suite only.

The tests and `make molecule` put this directory on PYTHONPATH, so every Python process they
start, ansible's controller and the module processes alike, imports this file first.

- The controller builds each module's AnsiballZ payload (the module and the module_utils it
  imports, found by parsing each file) once per ansible-playbook run, in a temporary directory
  that dies with the run: about 0.3 s of CPU per module a playbook uses. Here the payloads are
  kept in tests/output/ansiballz/<key>, where the key changes with any Python file under plugins/ and
  with every (re)install of ansible, so that no run gets a payload built from other sources.
- A module process compiles ansible.module_utils from its payload, because Python keeps the
  bytecode of files on disk (__pycache__) but never of a zip: about a third of a module run's CPU.
  Here it is kept in tests/output/module-bytecode, keyed by the source and the interpreter's
  bytecode version, and each code object gets back the path it was imported from this time, which
  tracebacks and ansible's deprecation messages read.
- Each module process parses botocore's JSON models for every client it creates, EC2's alone 4 MB
  gzipped: the largest single cost in a profile of provision.yml's processes. Here what botocore's
  JSON loader returns is kept as a pickle in tests/output/botocore-models, keyed by the file's path,
  size and mtime (a reinstall of botocore writes new ones).

What runs is unchanged: the same payload, the same bytecode, the same parsed models. The benchmarks leave this out, so
that their times are what a user's runs take.
"""
from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import marshal
import os
import pickle
import shutil
import sys
import types
import zipimport
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

Compiler = Callable[[str, bytes], "types.CodeType | None"]

REPO = Path(__file__).resolve().parents[3]
OUTPUT = REPO / "tests" / "output"
BYTECODE_DIR = OUTPUT / "module-bytecode"
MODELS_DIR = OUTPUT / "botocore-models"
PAYLOAD_ROOT = OUTPUT / "ansiballz"


def with_filename(code: types.CodeType, filename: str) -> types.CodeType:
    constants = tuple(
        with_filename(constant, filename) if isinstance(constant, types.CodeType) else constant
        for constant in code.co_consts
    )
    return code.replace(co_filename=filename, co_consts=constants)


def caching(compile_source: Compiler, cache_dir: str) -> Compiler:
    def compile_cached(pathname: str, source: bytes) -> types.CodeType | None:
        key = hashlib.blake2b(importlib.util.MAGIC_NUMBER + source, digest_size=20).hexdigest()
        path = os.path.join(cache_dir, key)
        try:
            with open(path, "rb") as cached:
                return with_filename(marshal.load(cached), pathname)
        except (OSError, EOFError, ValueError, TypeError):
            pass
        code = compile_source(pathname, source)
        if code is not None:
            keep(path, marshal.dumps(code))
        return code

    return compile_cached


def keep(path: str, content: bytes) -> None:
    """Written aside and renamed: a process killed mid-write (the fault tests kill some) leaves no
    half-written entry for the next one to read."""
    partial = f"{path}.{os.getpid()}"
    try:
        with open(partial, "wb") as fresh:
            fresh.write(content)
        os.replace(partial, path)
    except OSError:
        pass


JSONLoad = Callable[[Any, str, Any], Any]


def parsed_once(load_file: JSONLoad, cache_dir: str) -> JSONLoad:
    """botocore's JSONFileLoader._load_file(full_path, open_method), keeping what it returns."""

    def load_cached(loader: Any, full_path: str, open_method: Any) -> Any:
        try:
            status = os.stat(full_path)
        except OSError:
            return load_file(loader, full_path, open_method)
        key = hashlib.blake2b(f"{full_path}\0{status.st_mtime_ns}\0{status.st_size}".encode(), digest_size=20).hexdigest()
        path = os.path.join(cache_dir, key)
        try:
            with open(path, "rb") as cached:
                return pickle.load(cached)
        except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError):
            pass
        data = load_file(loader, full_path, open_method)
        if data is not None:
            keep(path, pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))
        return data

    return load_cached


def keep_parsed_models(loaders: types.ModuleType) -> None:
    json_loader = getattr(loaders, "JSONFileLoader")
    setattr(json_loader, "_load_file", parsed_once(json_loader._load_file, str(MODELS_DIR)))


def sources_key(source_roots: Sequence[Path], install_markers: Sequence[Path]) -> str:
    """Changes when any Python file under the roots, or any marker, is written, added or removed."""
    digest = hashlib.blake2b(sys.version.encode(), digest_size=12)
    files = sorted(install_markers) + sorted(path for root in source_roots for path in root.rglob("*.py"))
    for path in files:
        status = path.stat()
        digest.update(f"{path}\0{status.st_mtime_ns}\0{status.st_size}\n".encode())
    return digest.hexdigest()


def payload_dir(payload_root: Path, key: str) -> str:
    """The directory of this key's payloads; the first process to need it removes older keys'."""
    current = payload_root / key
    if not current.is_dir():
        if payload_root.is_dir():
            # Another worker may have made this key's directory a moment ago: never remove it.
            for stale in payload_root.iterdir():
                if stale.name != current.name:
                    shutil.rmtree(stale, ignore_errors=True)
        current.mkdir(parents=True, exist_ok=True)
    return str(current)


class LocalTmpOverride:
    """ansible.constants as seen by module_common alone, whose one use of DEFAULT_LOCAL_TMP is
    where it keeps the payloads it builds."""

    def __init__(self, constants: Any, local_tmp: Callable[[], str]) -> None:
        self.wrapped_constants = constants
        self.local_tmp = local_tmp
        self.resolved: str | None = None

    def __getattr__(self, name: str) -> Any:
        if name != "DEFAULT_LOCAL_TMP":
            return getattr(self.wrapped_constants, name)
        if self.resolved is None:
            self.resolved = self.local_tmp()
        return self.resolved


class AfterImport(importlib.abc.MetaPathFinder):
    """Calls `patch` with module `name` right after its first import, and then steps aside."""

    def __init__(self, name: str, patch: Callable[[types.ModuleType], None]) -> None:
        self.name = name
        self.patch = patch

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        loader = spec.loader if spec else None
        if not isinstance(loader, importlib.abc.Loader):
            return spec
        execute = loader.exec_module

        def exec_and_patch(module: types.ModuleType) -> None:
            execute(module)
            self.patch(module)

        setattr(loader, "exec_module", exec_and_patch)
        return spec


def keep_payloads(module_common: types.ModuleType) -> None:
    constants = getattr(module_common, "C")
    site_packages = Path(module_common.__file__ or "").resolve().parents[2]

    def this_checkouts_payloads() -> str:
        markers = sorted(site_packages.glob("ansible*.dist-info/RECORD"))
        return payload_dir(PAYLOAD_ROOT, sources_key([REPO / "plugins"], markers))

    setattr(module_common, "C", LocalTmpOverride(constants, this_checkouts_payloads))


def install() -> None:
    compile_source = getattr(zipimport, "_compile_source", None)
    if compile_source is not None:
        BYTECODE_DIR.mkdir(parents=True, exist_ok=True)
        setattr(zipimport, "_compile_source", caching(compile_source, str(BYTECODE_DIR)))
    sys.meta_path.insert(0, AfterImport("ansible.executor.module_common", keep_payloads))
    MODELS_DIR.mkdir(parents=True, exist_ok=True)
    sys.meta_path.insert(0, AfterImport("botocore.loaders", keep_parsed_models))


# Only as Python's own sitecustomize: the unit tests import this file under its package name.
if __name__ == "sitecustomize":
    install()
