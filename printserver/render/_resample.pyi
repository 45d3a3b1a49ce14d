"""The compiled loops of render/resample.py (_resample.c)."""

from typing import Any

import numpy as np
import numpy.typing as npt

Buffer = npt.NDArray[Any]
Doubles = npt.NDArray[np.float64]

def band_sums(
    source: Buffer,
    itemsize: int,
    rows: int,
    width: int,
    channels: int,
    rows_start: Buffer,
    rows_weights: Buffer,
    rows_taps: int,
    cols_start: Buffer,
    cols_weights: Buffer,
    cols_taps: int,
    out_w: int,
    factor: float,
    bias: float,
    v: Doubles,
    vt: Doubles,
    out: Doubles,
    simd: bool,
    /,
) -> None: ...
def simd_available() -> bool: ...

PAD: int
OUTPUTS: int
