"""The Grayscale Standard Display Function of PS3.14 (§7) and its hardcopy form.

``luminance(j)`` is the standard's rational polynomial in ln(j); the JND index
of a luminance is found by bisection on that monotonic function rather than
with the standard's approximate inverse polynomial, so the ends of a print's
density range are exact.  For printed media (PS3.14 §7.3) the luminance seen
is ``La + L0·10^-D`` — La is zero for reflective paper — and P-values are
spread linearly in JND index between the darkest and lightest luminance the
film can show.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

JND_MIN, JND_MAX = 1.0, 1023.0

_A, _B, _C, _D = -1.3011877, -2.5840191e-2, 8.0242636e-2, -1.0320229e-1
_E, _F, _G, _H = 1.3646699e-1, 2.8745620e-2, -2.5468404e-2, -3.1978977e-3
_K, _M = 1.2992634e-4, 1.3635334e-3


def luminance(j: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Luminance in cd/m² of JND index ``j`` (PS3.14 equation 7-1)."""
    x = np.log(np.asarray(j, dtype=np.float64))
    numerator = _A + x * (_C + x * (_E + x * (_G + x * _M)))
    denominator = 1 + x * (_B + x * (_D + x * (_F + x * (_H + x * _K))))
    result: npt.NDArray[np.float64] = np.power(10.0, numerator / denominator)
    return result


def jnd_index(target: float) -> float:
    """The JND index whose luminance is ``target``, clamped to 1..1023 (bisection)."""
    low, high = JND_MIN, JND_MAX
    if target <= float(luminance(low)):
        return low
    if target >= float(luminance(high)):
        return high
    for _ in range(60):  # 1022 / 2**60: far below float64 resolution
        middle = (low + high) / 2
        if float(luminance(middle)) < target:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def p_value_densities(
    p_values: npt.NDArray[np.float64],
    p_max: float,
    *,
    min_density: float,
    max_density: float,
    illumination: float,
    reflected_ambient_light: float,
) -> npt.NDArray[np.float64]:
    """Optical density of each P-value (0 = darkest = ``max_density``), PS3.14 hardcopy.

    Densities are in OD (not hundredths); ``reflected_ambient_light`` is 0 for
    reflective media.
    """
    l0, la = float(illumination), float(reflected_ambient_light)
    j_min = jnd_index(la + l0 * 10.0**-max_density)
    j_max = jnd_index(la + l0 * 10.0**-min_density)
    j = j_min + p_values * ((j_max - j_min) / p_max)
    seen = luminance(j)
    reflected = np.maximum(seen - la, 1e-12) / l0
    densities: npt.NDArray[np.float64] = -np.log10(reflected)
    return np.clip(densities, min_density, max_density)


def linear_density(
    p_values: npt.NDArray[np.float64],
    p_max: float,
    *,
    min_density: float,
    max_density: float,
) -> npt.NDArray[np.float64]:
    """LIN OD (PS3.3 C.11.6.1.2): density linear in P between Max (P = 0) and Min Density."""
    result: npt.NDArray[np.float64] = max_density - p_values / p_max * (max_density - min_density)
    return result
