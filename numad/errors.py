"""The errors numad raises. Every message names the function and what to do instead."""


class TracingError(TypeError):
    """Something cannot be recorded on a tape.

    Raised for a ``math.*`` call or ``float()`` of a traced value, a NumPy or SciPy
    function numad has no derivative rule for, complex inputs, and a derivative rule
    that is missing for the mode asked (``nd.primitive``, ``nd.custom_vjp``). It is a
    ``TypeError``; its message names the function and says what to use instead.

    Parameters
    ----------
    message : str
        What cannot be traced, and what to do instead.

    Returns
    -------
    TracingError
        The exception.

    See Also
    --------
    ControlFlowChanged

    Examples
    --------
    >>> import math
    >>> import numad as nd
    >>> try:
    ...     nd.grad(lambda x: math.sin(x))(1.0)
    ... except nd.TracingError as error:
    ...     print(type(error).__name__, isinstance(error, TypeError))
    TracingError True
    """


class MixedTraces(TracingError):
    """Values of two traces met in one operation: a transformation's function closes over
    a value of an outer trace. The transformations catch it and record on the outer
    trace instead (``numad/nested.py``); elsewhere it is the error it says."""


class UnsupportedAttribute(TracingError, AttributeError):
    """An ndarray attribute or method that a traced value does not have: a
    ``TracingError`` whose message says what to do instead, and an ``AttributeError``
    too, so that ``hasattr`` and ``getattr(x, name, default)`` still answer."""


class ControlFlowChanged(RuntimeError):
    """A tape was replayed where a recorded branch decision no longer holds.

    Raised by the replays of a ``Tape`` (``tape(*args)``, ``tape.gradient``, ...) at
    arguments where a comparison used as a truth value, an ``int()`` or an index taken
    from a traced value would go the other way: the tape is not the function there.
    ``tape.matches(*args)`` tells in advance; the adapters (``nd.gradient`` and the
    others) never raise it, they trace again. It is a ``RuntimeError``.

    Parameters
    ----------
    message : str
        Which decision changed, and what to do instead.

    Returns
    -------
    ControlFlowChanged
        The exception.

    See Also
    --------
    TracingError, Tape

    Examples
    --------
    >>> import numad as nd
    >>> tape = nd.trace(lambda x: x if x > 0 else -x, 1.0)
    >>> tape.matches(-1.0)
    False
    >>> try:
    ...     tape(-1.0)
    ... except nd.ControlFlowChanged as error:
    ...     print(type(error).__name__, isinstance(error, RuntimeError))
    ControlFlowChanged True
    """
