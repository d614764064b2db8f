"""Fewer points for a chart without losing its shape: a terminal chart `w` cells wide has
about `2 w` columns of dots (Braille), so 100,000 points a series are never drawn.

Min-max buckets: x is cut into `buckets` equal spans and each keeps its lowest and its
highest point (in x order), plus the first and the last point. A spike is an extreme of
its bucket, so it survives where averaging or taking every n-th point would lose it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Floats = NDArray[np.float64]


def minmax(x: Floats, y: Floats, buckets: int) -> tuple[Floats, Floats]:
    """At most `2 * buckets + 2` of the points (`x` ascending), in x order, with the
    minimum and the maximum of every bucket; all of them when they are no more."""
    if buckets < 1:
        raise ValueError(f"buckets must be at least 1, not {buckets}")
    n = len(x)
    if n <= 2 * buckets:
        return x, y
    span = float(x[-1] - x[0])
    if span > 0:
        bucket = np.minimum(((x - x[0]) * (buckets / span)).astype(np.int64), buckets - 1)
    else:  # one x for all: buckets by position
        bucket = np.arange(n, dtype=np.int64) * buckets // n
    starts = np.concatenate(([0], np.flatnonzero(np.diff(bucket)) + 1))  # x ascending
    sizes = np.diff(np.append(starts, n))
    at = np.arange(n)
    lowest = _first_where(y == np.repeat(np.minimum.reduceat(y, starts), sizes), at, starts)
    highest = _first_where(y == np.repeat(np.maximum.reduceat(y, starts), sizes), at, starts)
    keep = np.unique(np.concatenate((lowest, highest, [0, n - 1])))
    return x[keep], y[keep]


def _first_where(
    hit: NDArray[np.bool_], at: NDArray[np.int64], starts: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Per bucket (from `starts`), the index of its first `hit`: in C, no sort."""
    return np.minimum.reduceat(np.where(hit, at, len(at)), starts)
