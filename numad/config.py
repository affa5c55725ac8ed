"""numad's settings: ``nd.config``."""
from __future__ import annotations


class Config:
    """Settings that change how numad trades memory for time.

    ``memory_budget``: bytes that ``nd.scan(..., checkpoint="auto")`` may spend on
    snapshots of a loop's carry (default 1 GiB); the binomial schedule then takes as
    many snapshots as fit.

    ``compile``: the default of the ``compile=`` argument of the adapters and
    ``nd.trace`` (``"auto"``, ``"always"`` or ``"never"``; see ``numad/tape_compiler.py``).

    Examples
    --------
    >>> import numad as nd
    >>> nd.config.memory_budget = 64 * 2**20   # 64 MiB
    >>> nd.config.memory_budget = 2**30        # back to the default
    """

    def __init__(self):
        self._memory_budget = 2**30
        self._compile = "auto"

    @property
    def compile(self):
        return self._compile

    @compile.setter
    def compile(self, value):
        self._compile = compile_mode(value, "nd.config.compile")

    @property
    def memory_budget(self):
        return self._memory_budget

    @memory_budget.setter
    def memory_budget(self, value):
        if int(value) <= 0:
            raise ValueError(f"numad: config.memory_budget must be a positive number of "
                             f"bytes, not {value!r}")
        self._memory_budget = int(value)

    def __repr__(self):
        return (f"numad.config(memory_budget={self._memory_budget}, "
                f"compile={self._compile!r})")


COMPILE_MODES = ("auto", "always", "never")


def compile_mode(value, where):
    """``value`` checked as a ``compile=`` setting (None: ``config.compile``)."""
    if value is None:
        return config.compile
    if value not in COMPILE_MODES:
        raise ValueError(f"numad: {where}: compile={value!r}; use one of "
                         f"{', '.join(map(repr, COMPILE_MODES))}")
    return value


config = Config()
