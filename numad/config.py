"""numad's settings: ``nd.config``."""
from __future__ import annotations


class Config:
    """Settings that change how numad trades memory for time.

    ``memory_budget``: bytes that ``nd.scan(..., checkpoint="auto")`` may spend on
    snapshots of a loop's carry (default 1 GiB); the binomial schedule then takes as
    many snapshots as fit.

    Examples
    --------
    >>> import numad as nd
    >>> nd.config.memory_budget = 64 * 2**20   # 64 MiB
    >>> nd.config.memory_budget = 2**30        # back to the default
    """

    def __init__(self):
        self._memory_budget = 2**30

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
        return f"numad.config(memory_budget={self._memory_budget})"


config = Config()
