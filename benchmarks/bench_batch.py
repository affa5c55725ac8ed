"""asv benchmarks of batches: the Asian-option Greeks of examples/asian_option_greeks.py
(the per-path payoff in scalar code, 252 steps) over 10^5 paths, against the
hand-written ``@njit(parallel=True)`` pathwise estimator of
``benchmarks/compare_batch.py`` (which prints them side by side, with one thread and
with every thread). ``setup`` traces, compiles and loads everything first."""
import numpy as np

from .compare_batch import MATURITY, STRIKE, asian_call, hand_pathwise, nd

PATHS, STEPS = 100_000, 252


class AsianOptionGreeks:
    def setup(self):
        self.Z = np.random.default_rng(0).standard_normal((PATHS, STEPS))
        self.params = np.array([100.0, 0.2, 0.05])
        self.compiled = nd.value_and_gradient_batch(asian_call, in_axes=(None, 0),
                                                    compile="always")
        self.generic = nd.value_and_gradient_batch(asian_call, in_axes=(None, 0),
                                                   compile="never")
        self.compiled(self.params, self.Z[:8])
        self.generic(self.params, self.Z[:8])
        hand_pathwise(self.params, self.Z[:8], STRIKE, MATURITY)

    def time_hand_parallel_floor(self):
        hand_pathwise(self.params, self.Z, STRIKE, MATURITY)

    def time_numad_batch_compiled(self):
        self.compiled(self.params, self.Z)

    def time_numad_batch_generic(self):
        self.generic(self.params, self.Z)

    def peakmem_numad_batch_compiled(self):
        self.compiled(self.params, self.Z)
