"""numad's settings: ``nd.config``."""
from __future__ import annotations


class Config:
    """Settings that change how numad trades memory for time: ``nd.config``.

    ``nd.config`` is the one instance numad reads; change its attributes to change the
    settings (for every thread). The class takes no arguments: its settings start at
    their defaults and are set as attributes, each checked when set.

    Parameters
    ----------
    memory_budget : int
        An attribute, not a constructor argument: the bytes that ``nd.scan(...,
        checkpoint="auto")`` (and the loops built on it: ``nd.odeint``,
        ``nd.while_loop``, ``nd.fori_loop``) may spend on snapshots of a loop's carry;
        the binomial schedule then takes as many snapshots as fit. Default ``2**30``
        (1 GiB); a value that is not positive raises ``ValueError``.
    compile : {"auto", "always", "never"}
        An attribute, not a constructor argument: the default of the ``compile=``
        argument of the adapters, ``nd.trace``, ``nd.scan`` and ``nd.odeint``
        (default ``"auto"``: compile a tape to its own ``@njit`` code when the
        expected replays repay it). Another value raises ``ValueError``.

    Returns
    -------
    Config
        The settings object (``nd.config`` is the one numad reads).

    See Also
    --------
    numad.scan : Uses ``memory_budget`` for ``checkpoint="auto"``.
    numad.value_and_gradient : Takes ``compile=``, defaulting to ``compile``.

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
