"""NumPy's loops for the long arrays of the rows in ``optable.NUMPY_LOOP_ROWS``.

The compiled sweeps call ``run`` from ``numba.objmode`` (about 3 us a call, the
Python round trip and the error state included), so that ``tanh`` of 10^5 doubles
takes NumPy's SIMD loop, 9x as fast as numba's call of libm per element. The generic
forward sweep (``_generated/elementwise.py``) and the fused loops (``numad/fusion.py``)
both take this path from ``optable.NUMPY_LOOP_MIN`` elements on, so their values
agree to the last bit, and with the values that tracing computed.
"""
import numpy as np

from .optable import ELEMENTWISE


def run(opcode, y, a):
    """``y[:] = row(a)`` for elementwise row ``opcode``, by the row's NumPy ufunc; as
    the kernels (``error_model='numpy'``) do, a log of a negative number is a quiet nan."""
    with np.errstate(all="ignore"):
        ELEMENTWISE[opcode].numpy(a, out=y)
