"""nladc: design kit for the in-memory nonlinear ADC (NL-ADC) of analog in-memory computing.

The C++ core (nladc._core) does the work; this package re-exports it with NumPy arrays in
and out. Files are the CLI's: a level set, design, calibration or exported model written
by `nladc` loads here, and what this package saves the CLI reads. Units are the data's
(activation / MAC value units) unless a name says otherwise (_J joules, _s seconds).

    import numpy as np, nladc
    x = np.load("acts.npy")
    levels = nladc.design_levels(x, bits=4, method="bs-kmq")
    design = nladc.map_levels(levels)
    codes, outputs = nladc.Adc(design).convert(x)
    chips = nladc.sample_chips(design, n=100, seed=1)   # thresholds [100, 15]

`nladc.torch` (imported on use) puts NL-ADCs into PyTorch networks; docs/python.md.
"""

from ._core import (
    ADCModel,
    Adc,
    Calibration,
    Design,
    LevelSet,
    __version__,
    compare_levels,
    design_levels,
    lookup,
    map_levels,
    sample_chips,
    score_levels,
)

METHODS = ("linear", "lloyd-max", "cdf", "kmeans", "bs-kmq")

__all__ = [
    "ADCModel",
    "Adc",
    "Calibration",
    "Design",
    "LevelSet",
    "METHODS",
    "__version__",
    "compare_levels",
    "design_levels",
    "lookup",
    "map_levels",
    "sample_chips",
    "score_levels",
]
