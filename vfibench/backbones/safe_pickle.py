"""Unpickling that builds NumPy arrays in plain containers and refuses every other global.

A checkpoint read from an archive off the network is never given a plain :mod:`pickle` load,
which could call anything the pickle names.
"""

from __future__ import annotations

import io
import pickle
from collections import OrderedDict
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np


def _numpy_reconstruct() -> Callable[..., Any]:
    """NumPy's ``_reconstruct``, wherever this NumPy version keeps it."""
    try:
        from numpy._core import multiarray  # NumPy >= 2
    except ImportError:  # pragma: no cover - NumPy 1.x
        from numpy.core import multiarray  # type: ignore[no-redef]
    return multiarray._reconstruct


class NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler that builds NumPy arrays and plain containers and refuses every other global.

    A pickle names the callables it wants by ``(module, name)``; anything outside the short
    allow-list (``os.system``, ``builtins.eval``, ...) raises :class:`pickle.UnpicklingError`
    before it is called.
    """

    ALLOWED: Mapping[tuple[str, str], Callable[[], Any]] = MappingProxyType(
        {
            ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,
            ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,
            ("numpy", "ndarray"): lambda: np.ndarray,
            ("numpy", "dtype"): lambda: np.dtype,
            ("collections", "OrderedDict"): lambda: OrderedDict,
        }
    )

    def find_class(self, module: str, name: str) -> Any:
        """Return an allowed global; raise for everything else."""
        getter = self.ALLOWED.get((module, name))
        if getter is None:
            raise pickle.UnpicklingError(f"the pickle asks for {module}.{name}, which is not allowed")
        return getter()

    def persistent_load(self, pid: Any) -> Any:
        """Refuse persistent ids: plain NumPy pickles never use them."""
        raise pickle.UnpicklingError("the pickle uses persistent ids, which are not allowed")


def safe_unpickle(data: bytes) -> Any:
    """Unpickle ``data`` with :class:`NumpyOnlyUnpickler`."""
    return NumpyOnlyUnpickler(io.BytesIO(data)).load()
