"""Progress of long loops: ``progress=False | True | callable`` of ``nd.scan``,
``nd.odeint``, ``nd.while_loop``, ``nd.fori_loop`` and the batch transforms.

A callable receives ``(done, total, phase)``, ``phase`` being ``"forward"`` or
``"reverse"`` for a loop (``"batch"`` for a batch's rows); ``True`` shows a tqdm bar
(tqdm is an optional dependency). A loop's passes run inside compiled code, which numad
does not interrupt to report: a loop reports at the start and at the end of each pass
(forward, and reverse when a derivative is asked), so that the cost is nothing when
progress is off and two calls a pass when it is on.
"""
from __future__ import annotations

__all__ = ["reporter"]


def reporter(progress, what):
    """The function that receives ``(done, total, phase)``, or None for ``False``."""
    if progress is None or progress is False:
        return None
    if callable(progress):
        return progress
    if progress is True:
        return _Bars(what)
    raise TypeError(f"numad: {what}(progress={progress!r}): progress is False, True or a "
                    "callable receiving (done, total, phase)")


class _Bars:
    """One tqdm bar per pass."""

    def __init__(self, what):
        try:
            from tqdm.auto import tqdm
        except ImportError:
            raise ImportError(f"numad: {what}(progress=True) shows a tqdm progress bar: "
                              "pip install tqdm, or pass a callable") from None
        self.tqdm, self.what, self.bars = tqdm, what, {}

    def __call__(self, done, total, phase):
        bar = self.bars.get(phase)
        if bar is None or done == 0:
            if bar is not None:
                bar.close()
            bar = self.bars[phase] = self.tqdm(total=total, desc=f"{self.what} {phase}")
        bar.update(done - bar.n)
        if done >= total:
            bar.close()
            del self.bars[phase]
