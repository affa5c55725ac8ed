"""numba's disk cache for numad's kernels, keyed on all of numad's kernel sources.

numba checks a cached function against its own source file only (a hash of that one
file), and it links every callee's compiled code into the caller's cached copy: a cached
``forward_sweep`` keeps running the old ``array_elementwise_forward`` after only the
generated file that defines it changed, and a cached scan driver keeps the old sweeps of
``kernels.py``. So numad puts its own locator in front of numba's for the functions of
its own files; its source stamp is one hash over every kernel source of the package:
``optable.py`` (whose opcodes the kernels freeze as constants) and every module that
defines an ``@njit`` function (found by reading them, so that a new kernel module needs
no registration). Any edit to one of them makes every cached numad kernel stale; edits
to the pure-Python modules (the tracer, the adapters) keep them.

Why a locator and not, say, a version number baked into the sources or ``cache=False``
for callers: the locator keeps numba's own cache files, index and invalidation, changes
nothing in the kernels, and cannot be forgotten when a file is edited. Functions outside
numad never reach it (``from_function`` declines them) and keep numba's locators.

Where the cache goes, the first that is writable: ``NUMBA_CACHE_DIR`` when set, the
``__pycache__`` beside the module, numba's user-wide cache directory, and at last a
private temporary directory for this process only (removed at exit; nothing is reused,
but numad imports and runs where nothing else is writable, where numba alone would raise
``RuntimeError: cannot cache function`` at import).

This module must be imported before any numad ``@njit(cache=True)`` function is
defined (numba picks the locator when the decorator runs): ``numad/kernels.py`` imports
it first, and it is imported before the other kernel modules (tests/test_codegen.py
checks that every numad kernel uses this locator).
"""
from __future__ import annotations

import atexit
import functools
import hashlib
import os
import pathlib
import re
import shutil
import tempfile

from numba.core import caching, config

PACKAGE = pathlib.Path(__file__).resolve().parent
# A module is a kernel source when a line of it starts with an njit decorator.
_DEFINES_KERNELS = re.compile(rb"^\s*@(?:numba\.)?njit\b", re.MULTILINE)


def kernel_sources(package=PACKAGE):
    """The files whose edits make numad's cached kernels stale, relative to ``package``."""
    files = []
    for path in sorted(package.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        if path.name == "optable.py" or _DEFINES_KERNELS.search(path.read_bytes()):
            files.append(path)
    return files


@functools.lru_cache(maxsize=None)
def source_stamp(package=PACKAGE):
    """One hash over the names and contents of all ``kernel_sources`` (read once per
    process: numba takes the stamp when a kernel is defined, at import)."""
    h = hashlib.sha256()
    for path in kernel_sources(package):
        h.update(path.relative_to(package).as_posix().encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def _private_dir():
    path = tempfile.mkdtemp(prefix="numad-numba-cache-")
    atexit.register(shutil.rmtree, path, True)
    return path


class NumadCacheLocator(caching._CacheLocator):
    """numba's file-backed locator for numad's own functions, stamped by
    ``source_stamp`` instead of the function's own file."""

    def __init__(self, py_func, py_file, cache_path):
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno
        self._cache_path = cache_path

    def get_cache_path(self):
        return self._cache_path

    def get_source_stamp(self):
        return source_stamp()

    def get_disambiguator(self):
        return str(self._lineno)

    @classmethod
    def _candidates(cls, py_file):
        sub = cls.get_suitable_cache_subpath(py_file)
        if config.CACHE_DIR:
            yield os.path.join(config.CACHE_DIR, sub)
        yield os.path.join(os.path.dirname(py_file), "__pycache__")
        yield os.path.join(caching.AppDirs(appname="numba", appauthor=False).user_cache_dir,
                           sub)
        yield os.path.join(_private_dir(), sub)

    @classmethod
    def from_function(cls, py_func, py_file):
        path = pathlib.Path(py_file).resolve()
        if PACKAGE not in path.parents:
            return None  # not numad's: numba's own locators take it
        try:
            for cache_path in cls._candidates(py_file):
                self = cls(py_func, py_file, cache_path)
                try:
                    self.ensure_cache_path()
                except OSError:
                    continue
                return self
        except OSError:  # not even a temporary directory: numba's error says so
            pass
        return None


def install():
    """Put ``NumadCacheLocator`` first in numba's list (once)."""
    classes = caching.CacheImpl._locator_classes
    if NumadCacheLocator not in classes:
        classes.insert(0, NumadCacheLocator)


install()
