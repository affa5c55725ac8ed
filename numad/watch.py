"""What a traced function reads besides its arguments, and what a tape cannot replay.

A tape is the function's operations at the values it saw. Two kinds of input reach a
function without passing through its arguments:

* values it reads from its **globals, closure cells and default arguments**, from
  the functions it calls, and **attributes of the objects** it is given (or closes
  over). ``Watch`` records each of them as it was when the function was traced;
  ``watch.holds()`` says whether they are all still the same. The adapters trace
  again when one has changed, and a ``Tape`` refuses to replay.
* **random numbers and clocks**. A draw made while tracing would be replayed as the
  same number forever; ``side_channels(...)`` around a trace raises
  ``nd.TracingError`` when the function drew random numbers (the global NumPy and
  Python generators, and every ``np.random.Generator`` / ``RandomState`` /
  ``random.Random`` it can reach) or read a clock (``time.time``, ``perf_counter``...)
  or made an unseeded ``np.random.default_rng()``.

What is watched, exactly (the rule the docs state): the names a function's code uses
that are its module's globals, its closure cells, its ``__defaults__`` and
``__kwdefaults__`` (the tuple and dict themselves, and their items), recursively through
the Python functions it reaches that way (not those of NumPy, SciPy, numad or the
standard library); the attributes of objects among those values and among the
arguments, to a depth of ``DEPTH`` (8): instance attributes (``vars(obj)``),
``__slots__``, and class attributes that hold data (numbers, strings, arrays, lists,
tuples, dicts), read through the object so that a class attribute later shadowed by the
instance's is seen too; the attributes of the user's own modules (not libraries') that
the function's code names (``mod.K``); the items of the containers among them (lists,
tuples, dicts and every other mapping, deques, ``array.array`` objects). Numbers and
strings are compared by value, arrays (masked ones with their masks) by contents, a mutable
container of numbers and strings by its items, other objects by identity. Where a
function reads more than that (past ``DEPTH``, or more than ``Watch.LIMIT`` values),
numad cannot tell that its tape still holds: a warning says so, the adapters trace it
again at every call and its Tape refuses to replay (``Unwatched``).

Cost: a cached call checks each watched value (an identity test for most: tens of
nanoseconds; a byte comparison for a small array). A function that reads nothing
but its arguments has no watch at all.
"""
from __future__ import annotations

import array as _array
import collections
import collections.abc
import copy
import functools
import random as _random
import sys
import threading
import time as _time
import types
import warnings

import numpy as np

from .errors import TracingError

_MISSING = object()

# Where a function's globals are numad's own business, or a library's: not walked.
_LIBRARIES = frozenset({"numpy", "scipy", "numba", "llvmlite", "jax", "torch", "autograd",
                        "casadi", "sympy", "pandas", "matplotlib", "tqdm", "numad"})
_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ())) | {"builtins"}

# Value kinds: how a watched value is compared with its snapshot.
_SAME_OBJECT = 0    # an object whose own contents are watched separately, or opaque
_BY_VALUE = 1       # a number, string, bytes, None: equal value is the same
_ARRAY = 2          # an ndarray: same dtype, shape and contents
_SIZED = 3          # a list, dict or other mutable container: the same object with the
                    # same length (its items are probes of their own)
_ITEMS = 4          # a mutable container of numbers and strings only: the same items
                    # (one probe for a list of 1000 floats, compared at C speed)

_SMALL_ARRAY = 4096  # elements; up to this a byte comparison is the fastest test
# How deep the walk goes (globals -> their attributes and items -> theirs ...). Where
# something walkable lies deeper, the watch is incomplete (``Unwatched``): the adapters
# trace again at every call, a Tape refuses to replay, and a warning says why.
DEPTH = 8

_SCALARS = (bool, int, float, complex, str, bytes, np.generic)
# Mutable containers: their items are watched (Mappings by key, the rest by position).
_SEQUENCES = (list, collections.deque, _array.array, bytearray)
_INDEXED = (list, tuple, collections.deque, _array.array, bytearray)
_MAPPINGS = collections.abc.Mapping


def _is_scalar(value):
    """A number, a string, None, or a tuple of them (nested): a value that cannot
    change in place, compared by ``==``."""
    if value is None or isinstance(value, _SCALARS):
        return True
    return type(value) is tuple and len(value) <= 64 and all(map(_is_scalar, value))


def _items_copy(container):
    """A copy of a container of numbers and strings to compare it with (``==``, no copy
    at the check), or None where it will not copy (a mapping proxy, an odd subclass)."""
    try:
        return copy.copy(container)
    except Exception:  # noqa: BLE001 - then its items are watched one by one
        return None


class _Attr:
    """A probe's key that reads an attribute of its holder (``getattr``): a function's
    ``__defaults__``, a slot, a class attribute read through its object, a module's."""
    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name


# The values of class attributes worth watching: data, not methods or descriptors.
_DATA = (bool, int, float, complex, str, bytes, np.generic, np.ndarray, list, tuple, dict)


def _library_function(fn):
    module = (getattr(fn, "__module__", None) or "").partition(".")[0]
    return module in _LIBRARIES or module in _STDLIB


def _own_function(fn):
    return (getattr(fn, "__module__", None) or "").partition(".")[0] == "numad"


class Watch:
    """Snapshots of the values a function reads besides its arguments.

    ``probes`` is a list of ``(holder, key, kind, expected, frozen, label)``: read
    ``holder[key]`` (a dict), the contents of ``holder`` (a closure cell, ``key`` None),
    an attribute of ``holder`` (``key`` an ``_Attr``) or item ``key`` of ``holder`` (a
    list or tuple), and compare it with ``expected``
    as ``kind`` says; ``frozen`` is an array's (shape, dtype, bytes or copy), or a
    container's length.
    Parents come before their contents, so the first change found is the outermost.
    """

    LIMIT = 4096
    __slots__ = ("probes",)

    def __init__(self, probes):
        self.probes = probes

    def changed(self):
        """The label of the first watched value that differs from its snapshot, or
        None when all hold."""
        for holder, key, kind, expected, frozen, label in self.probes:
            if key is None:
                try:
                    now = holder.cell_contents
                except ValueError:
                    now = _MISSING
            elif type(holder) is dict:
                now = holder.get(key, _MISSING)
            elif type(key) is _Attr:
                now = getattr(holder, key.name, _MISSING)
            elif type(holder) in _INDEXED:
                now = holder[key] if key < len(holder) else _MISSING
            else:   # (a mapping other than a dict)
                now = holder[key] if key in holder else _MISSING
            if kind == _ITEMS:
                if type(now) is type(frozen) and now == frozen:
                    continue
                return label
            if now is expected:
                if kind == _SAME_OBJECT or kind == _BY_VALUE:
                    continue
                if kind == _SIZED:
                    if len(now) == frozen:
                        continue
                    return label
            elif kind == _BY_VALUE:
                if type(now) is type(expected) and (now == expected or now != now
                                                     and expected != expected):
                    continue
                return label
            elif kind != _ARRAY:
                return label
            if not _same_array(now, expected, frozen):
                return label
        return None

    def holds(self):
        """Whether every watched value is as it was: the cached call's check, so the
        common case (the same objects, the same small arrays' bytes) is tested first
        and the full comparison runs only where an identity differs."""
        for holder, key, kind, expected, frozen, _ in self.probes:
            if type(holder) is dict:
                now = holder.get(key, _MISSING)
            else:
                return self.changed() is None
            if now is not expected or kind == _SIZED or kind == _ITEMS:
                return self.changed() is None
            if kind == _ARRAY and (type(frozen[2]) is not bytes
                                   or now.tobytes() != frozen[2]):
                return self.changed() is None
        return True


def _same_array(now, expected, frozen):
    shape, dtype, frozen = frozen
    if type(now) is not type(expected) or now.shape != shape or now.dtype != dtype:
        return False
    if type(frozen) is bytes:
        return now.tobytes() == frozen
    try:
        if not np.array_equal(np.asarray(now), np.asarray(frozen),
                              equal_nan=now.dtype.kind in "fc"):
            return False
    except TypeError:  # object arrays
        return False
    # (a masked array: its mask too)
    return type(now) is np.ndarray or bool(np.array_equal(np.ma.getmaskarray(now),
                                                          np.ma.getmaskarray(frozen)))


class _Gatherer:
    """Walks what a function can reach and writes the probes of ``Watch``."""

    def __init__(self):
        self.probes = []
        self.seen = set()      # ids of functions and objects already walked
        self.keep = []         # keeps walked objects alive, so their ids stay theirs
        self.full = False
        self.too_deep = None   # the label of the first thing past DEPTH
        self.generators = []   # the random generators met on the way (side_channels)

    def probe(self, holder, key, value, label, depth):
        """Watch ``holder[key]`` (see ``Watch``), whose value is now ``value``."""
        if len(self.probes) >= Watch.LIMIT:
            self.full = True
            return
        if _is_scalar(value):
            self.probes.append((holder, key, _BY_VALUE, value, None, label))
        elif type(value) is np.ndarray or isinstance(value, np.ma.MaskedArray):
            # small arrays keep their bytes (the fastest comparison), large ones and
            # masked arrays (their masks too) a copy; other subclasses (a memmap) are
            # compared by identity below, as before
            frozen = (value.tobytes() if value.size <= _SMALL_ARRAY
                      and type(value) is np.ndarray else value.copy())
            self.probes.append((holder, key, _ARRAY, value,
                                (value.shape, value.dtype, frozen), label))
        elif isinstance(value, (types.ModuleType, type, types.BuiltinFunctionType,
                                np.ufunc)):
            return  # (rebinding np or a class is not a change numad looks for)
        elif isinstance(value, (*_SEQUENCES, set, dict)) and all(map(
                _is_scalar, value.values() if isinstance(value, dict) else value)) and (
                _items_copy(value) is not None):
            # (one probe for a list of 1000 floats or a dict of 5000 numbers)
            self.probes.append((holder, key, _ITEMS, value, _items_copy(value), label))
        elif isinstance(value, (*_SEQUENCES, _MAPPINGS)):
            self.probes.append((holder, key, _SIZED, value, len(value), label))
            self.contents(value, label, depth)
        else:
            self.probes.append((holder, key, _SAME_OBJECT, value, None, label))
            self.value(value, label, depth)

    def contents(self, container, label, depth):
        if id(container) in self.seen:
            return
        if not isinstance(container, _MAPPINGS) and all(map(_is_scalar, container)):
            return   # (a tuple of numbers cannot change)
        if depth <= 0:
            self.too_deep = self.too_deep or label
            return
        self.seen.add(id(container))
        self.keep.append(container)
        if isinstance(container, _MAPPINGS):
            for k, v in list(container.items()):
                self.probe(container, k, v, f"{label}[{k!r}]", depth - 1)
        else:
            for k, v in enumerate(container):
                self.probe(container, k, v, f"{label}[{k}]", depth - 1)

    def value(self, value, label, depth):
        """Walk into a value: a function's reads, an object's attributes."""
        if isinstance(value, (types.FunctionType, types.MethodType, functools.partial)):
            self.function(value, depth)
        elif isinstance(value, tuple):
            self.contents(value, label, depth)
        elif isinstance(value, (np.random.Generator, np.random.RandomState, _random.Random)):
            if all(g is not value for g in self.generators):
                self.generators.append(value)
        elif isinstance(value, (types.ModuleType, type, types.BuiltinFunctionType, np.ufunc)):
            return
        elif hasattr(value, "__dict__") and type(value).__module__ and \
                (type(value).__module__.partition(".")[0] not in _LIBRARIES):
            if id(value) in self.seen:
                return
            if depth <= 0:
                if vars(value) or _data_attributes(type(value)):
                    self.too_deep = self.too_deep or label
                return
            self.seen.add(id(value))
            self.keep.append(value)
            attrs = vars(value)
            if type(attrs) is dict:
                for k, v in list(attrs.items()):
                    self.probe(attrs, k, v, f"{label}.{k}", depth - 1)
            self.class_attributes(value, attrs, label, depth)
            call = getattr(type(value), "__call__", None)
            if isinstance(call, types.FunctionType):
                self.function(call, depth)
        elif _user_class(type(value)) and _slots(type(value)):
            if id(value) in self.seen:
                return
            if depth <= 0:
                self.too_deep = self.too_deep or label
                return
            self.seen.add(id(value))
            self.keep.append(value)
            self.class_attributes(value, {}, label, depth)

    def class_attributes(self, obj, attrs, label, depth):
        """Watch what ``obj`` reads from its class (data attributes, not methods) and its
        ``__slots__``, through ``getattr(obj, name)``: a change to the class attribute
        or a later instance attribute of the same name is seen."""
        for name in _slots(type(obj)):
            value = getattr(obj, name, _MISSING)
            if value is not _MISSING and name not in attrs:
                self.probe(obj, _Attr(name), value, f"{label}.{name}", depth - 1)
        done = set(attrs)   # (a name once: the instance's, else the nearest class's)
        for cls in type(obj).__mro__:
            if not _user_class(cls):
                continue
            for name, value in list(vars(cls).items()):
                if name.startswith("__") or name in done or not isinstance(value, _DATA):
                    continue
                done.add(name)
                self.probe(obj, _Attr(name), getattr(obj, name, _MISSING),
                           f"{label}.{name} (an attribute of class {cls.__name__})",
                           depth - 1)

    def module_attributes(self, module, names, label, depth):
        """Watch the attributes of a user's module that a function's code names."""
        if id(module) in self.seen:
            return
        self.seen.add(id(module))
        attrs = vars(module)
        for name in sorted(names):
            if name in attrs and not name.startswith("__"):
                self.probe(attrs, name, attrs[name], f"{label}.{name}", depth - 1)

    def function(self, fn, depth=DEPTH):
        if not isinstance(fn, (types.FunctionType, types.MethodType, functools.partial)):
            self.value(fn, _name(fn), depth)  # a callable object
            return
        if id(fn) in self.seen:
            return
        self.seen.add(id(fn))
        self.keep.append(fn)
        if isinstance(fn, types.MethodType):
            self.value(fn.__self__, _name(fn.__func__).rpartition(".")[0] or "self", depth)
            self.function(fn.__func__, depth)
            return
        if isinstance(fn, functools.partial):
            self.function(fn.func, depth)
            label = f"functools.partial({_name(fn.func)})"
            self.contents(fn.args, f"{label}.args", depth)
            self.contents(fn.keywords, f"{label}.keywords", depth)
            return
        wrapped = getattr(fn, "__wrapped__", None)
        if wrapped is not None:
            self.function(wrapped, depth)
        own = _own_function(fn)
        if _library_function(fn) and not own:
            return
        name = _name(fn)
        names = _global_names(fn.__code__)
        # numad's own wrappers (the adapters' closures) lead to the user's function
        # through their closure cells; their globals are numad's
        for cell, var in zip(fn.__closure__ or (), fn.__code__.co_freevars):
            try:
                v = cell.cell_contents
            except ValueError:
                continue
            if own:
                if callable(v):
                    self.function(v, depth)
                continue
            self.probe(cell, None, v, f"{var} (a closure variable of {name})", depth)
            if isinstance(v, types.ModuleType) and _user_module(v):
                self.module_attributes(v, names, f"the module {var}", depth)
        if own:
            return
        g = fn.__globals__
        for var in names:
            if var in g:
                self.probe(g, var, g[var], f"the global {var} (read by {name})", depth)
                if isinstance(g[var], types.ModuleType) and _user_module(g[var]):
                    # (``mod.K``: the names the code uses, as attributes of the module)
                    self.module_attributes(g[var], names, f"the module {var}", depth)
        # the tuple and dict themselves (``f.__defaults__ = ...`` replaces them), then
        # their items
        if fn.__defaults__ is not None:
            self.probe(fn, _Attr("__defaults__"), fn.__defaults__,
                       f"the default arguments of {name}", depth)
        if fn.__kwdefaults__ is not None:
            self.probe(fn, _Attr("__kwdefaults__"), fn.__kwdefaults__,
                       f"the keyword defaults of {name}", depth)


def _user_class(cls):
    """A class of the user's (not object's, a library's or the standard library's)."""
    module = (getattr(cls, "__module__", None) or "").partition(".")[0]
    return cls is not object and module not in _LIBRARIES and module not in _STDLIB


def _user_module(module):
    top = (getattr(module, "__name__", None) or "").partition(".")[0]
    return top not in _LIBRARIES and top not in _STDLIB


def _data_attributes(cls):
    """Whether the user's classes among ``cls``'s bases hold data attributes."""
    return any(isinstance(v, _DATA) and not k.startswith("__")
               for c in cls.__mro__ if _user_class(c) for k, v in vars(c).items())


def _slots(cls):
    """The names in the ``__slots__`` of ``cls`` and its bases (the user's classes)."""
    names = []
    for c in cls.__mro__:
        if not _user_class(c):
            continue
        slots = vars(c).get("__slots__", ())
        for name in ((slots,) if isinstance(slots, str) else slots):
            if name not in ("__dict__", "__weakref__") and name not in names:
                names.append(name)
    return names


def _name(fn):
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


@functools.lru_cache(maxsize=1024)
def _global_names(code):
    """The names a code object (and the functions, lambdas and comprehensions defined
    in it) may look up as globals. (``co_names`` holds attribute names too: a global
    of the same name is watched needlessly, which costs a check, never an answer.)"""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return frozenset(names)


def reach(f, args, name):
    """Walk what ``f`` can reach besides its arguments (and the objects among ``args``):
    the probes of its ``Watch`` and the random generators ``side_channels`` checks."""
    gather = _Gatherer()
    gather.function(f)
    from .pytree import flatten  # (the pytree module is below this one)
    for k, arg in enumerate(args):
        leaves, _ = flatten(arg)
        for leaf in leaves:
            if not isinstance(leaf, (bool, int, float, complex, str, bytes, np.ndarray,
                                     np.generic)) and leaf is not None:
                gather.value(leaf, f"argument {k} of {name} ({type(leaf).__name__})",
                             DEPTH)
    gather.name = name
    return gather


def watch_of(gather):
    """The ``Watch`` of a walk (``reach``), or None when there is nothing to watch; an
    ``Unwatched`` where the walk could not see everything ``f`` may read."""
    why = None
    if gather.full:
        why = f"more than {Watch.LIMIT} values besides its arguments"
    elif gather.too_deep is not None:
        why = f"values nested more than {DEPTH} levels deep ({gather.too_deep})"
    if why is not None:
        warnings.warn(f"numad: {gather.name} reads {why}: numad cannot watch all of them "
                      "for changes, so the adapters trace it again at every call (slow, "
                      "but never a stale answer), and a Tape of it cannot tell when one "
                      "changes. Pass what changes as an argument", RuntimeWarning,
                      stacklevel=4)
        return Unwatched(gather.name, why)
    return Watch(gather.probes) if gather.probes else None


# ---- random numbers and clocks -------------------------------------------------------------

def _generator_state(gen):
    """A comparable snapshot of a random generator's state."""
    if isinstance(gen, np.random.Generator):
        return _bit_generator_state(gen.bit_generator)
    if isinstance(gen, np.random.RandomState):
        return gen.get_state(legacy=True)
    return gen.getstate()


def _bit_generator_state(bg):
    state = bg.state
    return repr(state) if not isinstance(state, dict) else _freeze(state)


def _freeze(obj):
    if isinstance(obj, dict):
        return tuple((k, _freeze(v)) for k, v in obj.items())
    if isinstance(obj, np.ndarray):
        return obj.tobytes()
    return obj


def _states_equal(a, b):
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_states_equal(u, v) for u, v in zip(a, b))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(a, b)
    return a == b


_LEGACY = np.random.mtrand._rand  # the generator behind np.random.normal & co.


class _Clocks:
    """While any thread traces, ``time``'s clocks and ``np.random.default_rng`` are
    replaced by wrappers that refuse to run inside a trace (in that thread) and call
    the originals everywhere else. They are put back when the last trace ends."""

    CLOCKS = ("time", "time_ns", "perf_counter", "perf_counter_ns", "monotonic",
              "monotonic_ns", "process_time", "process_time_ns")

    def __init__(self):
        self.lock = threading.Lock()
        self.tracing = threading.local()
        self.users = 0
        self.saved = {}

    def _refusing(self, module_name, name, original, unseeded_only=False):
        tracing = self.tracing

        def wrapper(*args, **kwargs):
            if getattr(tracing, "depth", 0) and (not unseeded_only or (
                    not args and kwargs.get("seed") is None)) and _called_by_user():
                fn = getattr(tracing, "name", "f")
                what = f"{module_name}.{name}()"
                if unseeded_only:
                    raise TracingError(
                        f"numad: {fn} made an unseeded {what} while being traced: its "
                        "random numbers would be frozen into the tape and replayed as the "
                        "same numbers at every call. Draw the random numbers outside and "
                        "pass them in as an argument (or seed the generator)")
                raise TracingError(
                    f"numad: {fn} called {what} while being traced: the time it returns "
                    "would be frozen into the tape and replayed at every call. Time the "
                    "call of the derivative from outside, or pass the time in as an "
                    "argument")
            return original(*args, **kwargs)

        functools.update_wrapper(wrapper, original)
        return wrapper

    def enter(self, name):
        t = self.tracing
        t.depth = getattr(t, "depth", 0) + 1
        if t.depth == 1:
            t.name = name
        with self.lock:
            self.users += 1
            if self.users == 1:
                for clock in self.CLOCKS:
                    original = getattr(_time, clock)
                    self.saved[(_time, clock)] = original
                    setattr(_time, clock, self._refusing("time", clock, original))
                original = np.random.default_rng
                self.saved[(np.random, "default_rng")] = original
                np.random.default_rng = self._refusing("np.random", "default_rng", original,
                                                       unseeded_only=True)

    def exit(self):
        self.tracing.depth -= 1
        with self.lock:
            self.users -= 1
            if self.users == 0:
                for (module, name), original in self.saved.items():
                    setattr(module, name, original)
                self.saved.clear()


def _called_by_user():
    """Whether the clock's caller is the traced function's code, not a library's (a
    progress bar timing itself, numad's own drivers): only the user's code can put the
    time into the tape."""
    module = sys._getframe(2).f_globals.get("__name__", "")
    return module.partition(".")[0] not in _LIBRARIES | _STDLIB


_CLOCKS = _Clocks()


class side_channels:
    """Around a trace that will be replayed: refuse random draws and clocks (see the
    module's docstring), ``with side_channels(name, reach(f, args, name).generators):``
    around ``f(*args)``."""

    __slots__ = ("name", "generators", "before")

    def __init__(self, name, generators=()):
        self.name = name
        self.generators = [_LEGACY, _random._inst, *generators]

    def __enter__(self):
        self.before = [_generator_state(g) for g in self.generators]
        _CLOCKS.enter(self.name)
        return self

    def __exit__(self, kind, error, tb):
        _CLOCKS.exit()
        if kind is not None:
            return False
        for gen, before in zip(self.generators, self.before):
            if not _states_equal(before, _generator_state(gen)):
                raise TracingError(
                    f"numad: {self.name} drew random numbers from {_describe(gen)} while "
                    "being traced: the draws would be frozen into the tape and replayed as "
                    "the same numbers at every call (and at every step of a scan). Draw "
                    "them outside and pass them in as an argument (an array of draws, "
                    "e.g. rng.standard_normal(n)); nd.grad and nd.value_and_grad, which "
                    "trace at every call, may draw inside")
        return False


def _describe(gen):
    if gen is _LEGACY:
        return "NumPy's global generator (np.random.*)"
    if gen is _random._inst:
        return "Python's global generator (random.*)"
    return f"a {type(gen).__module__}.{type(gen).__name__}"



class Unwatched:
    """The watch of a function that reads more than numad can watch (``watch_of``).
    Nothing is known to have changed (``changed()`` is None: a Tape replays, after the
    trace's warning), but nothing is known to hold either (``holds()`` is False): the
    adapters never keep such a tape, and trace at every call."""

    __slots__ = ("label",)

    def __init__(self, name, why):
        self.label = f"{name} reads {why}"

    def changed(self):
        return None

    def holds(self):
        return False


class Volatile:
    """The watch of a tape recorded while its function changed what it reads (a
    counter, an accumulator, a lazily filled cache): that tape is the function at that
    one call only, so it never holds."""

    __slots__ = ("label",)

    def __init__(self, label):
        self.label = f"{label}, which changed while the function was being traced"

    def changed(self):
        return self.label

    def holds(self):
        return False
