"""Internal helpers: broadcasting inputs once and walking them in cache-sized blocks.

NumPy evaluates one ufunc at a time over the whole array, so a 40-step formula over a million
options streams ~40 x 8 MB through memory.  Evaluating the same formula over blocks of a few
thousand elements keeps every temporary in L1/L2 cache, which is where most of the speed of the
pricing kernels comes from (no JIT needed).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
#: A kernel input: either a block of a full-length array or a Python float shared by all.
Operand = FloatArray | float

#: Block length: 8192 float64 = 64 KiB per temporary; ~15 live temporaries stay in L2.
BLOCK = 8192


def as_float_array(x: ArrayLike) -> FloatArray:
    """`x` as a float64 ndarray (no copy when it already is one)."""
    return np.asarray(x, dtype=np.float64)


def broadcast_inputs(
    *args: ArrayLike, flag: ArrayLike = True
) -> tuple[tuple[int, ...], list[FloatArray | float]]:
    """Broadcast `args` (and the shape of the boolean ``flag``) to a common shape and flatten.

    Size-1 inputs come back as NumPy float scalars (so kernels do scalar-array arithmetic
    instead of streaming a broadcast copy); all others as 1-d float64 arrays of the full size.
    """
    arrs = [as_float_array(a) for a in args]
    shape = np.broadcast_shapes(np.shape(flag), *(a.shape for a in arrs))
    out: list[FloatArray | float] = []
    for a in arrs:
        if a.size == 1:
            # np.float64, not float: division by a zero scalar must follow errstate, not raise.
            out.append(np.float64(a.reshape(-1)[0]))
        elif a.shape == shape:
            out.append(np.ascontiguousarray(a).reshape(-1))
        else:
            out.append(np.broadcast_to(a, shape).reshape(-1))
    return shape, out


def broadcast_flags(flag: ArrayLike, shape: tuple[int, ...]) -> BoolArray | bool:
    """A boolean input (e.g. `is_call`) as a Python bool or a flat array of the full size."""
    arr = np.asarray(flag)
    if arr.dtype != np.bool_:
        arr = arr.astype(np.bool_)
    if arr.size == 1:
        return bool(arr.reshape(-1)[0])
    return np.broadcast_to(arr, shape).reshape(-1)


def sign_from_flags(flag: BoolArray | bool) -> FloatArray | float:
    """+1.0 for calls (True), -1.0 for puts (False)."""
    if isinstance(flag, bool):
        return 1.0 if flag else -1.0
    return np.where(flag, 1.0, -1.0)


def blocks(n: int, block: int = BLOCK) -> Iterator[slice]:
    """Consecutive slices of length `block` covering range(n)."""
    for start in range(0, n, block):
        yield slice(start, min(start + block, n))


def take(x: FloatArray | float, sl: slice | NDArray[np.intp]) -> FloatArray | float:
    """Block (or fancy-indexed subset) of a broadcast operand; scalars pass through."""
    if isinstance(x, float):
        return x
    return x[sl]
