"""The errors numad raises. Every message names the function and what to do instead."""


class TracingError(TypeError):
    """Something cannot be recorded on a tape: a ``math.*`` call or ``float()`` of a
    traced value, or a NumPy/SciPy function numad does not know."""


class ControlFlowChanged(RuntimeError):
    """A tape was replayed where a recorded branch decision no longer holds."""
