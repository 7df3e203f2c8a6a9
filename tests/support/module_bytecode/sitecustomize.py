"""Caches the bytecode of what Python compiles from an AnsiballZ zip, for the test suite only.

Python keeps the bytecode of a module imported from a file (__pycache__), never of one imported
from a zip, so every module run of a test compiled ansible.module_utils afresh from its AnsiballZ
payload: about a third of the CPU a module run costs. The tests and `make molecule` put this
directory on PYTHONPATH; each module process then keeps what it compiles in tests/output/
module-bytecode, keyed by the source and the interpreter's bytecode version. What runs is unchanged: the
same source compiles to the same bytecode, and each code object gets back the path it was imported
from this time, which tracebacks and ansible's deprecation messages read.
"""
from __future__ import annotations

import hashlib
import importlib.util
import marshal
import os
import types
import zipimport
from collections.abc import Callable
from pathlib import Path

Compiler = Callable[[str, bytes], "types.CodeType | None"]


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
            # Written aside and renamed: a process killed mid-write (the fault tests kill some)
            # leaves no half-written entry for the next one to read.
            partial = f"{path}.{os.getpid()}"
            try:
                with open(partial, "wb") as fresh:
                    marshal.dump(code, fresh)
                os.replace(partial, path)
            except OSError:
                pass
        return code

    return compile_cached


CACHE_DIR = Path(__file__).resolve().parents[2] / "output" / "module-bytecode"


def install() -> None:
    compile_source = getattr(zipimport, "_compile_source", None)
    if compile_source is None:
        return
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    setattr(zipimport, "_compile_source", caching(compile_source, str(CACHE_DIR)))


# Only as Python's own sitecustomize: the unit tests import this file under its package name.
if __name__ == "sitecustomize":
    install()
