"""Suite-wide test settings."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """One intra-op thread for the whole suite.

    The tensors in these tests are tiny: more threads only add synchronisation, and on a busy
    machine with few cores they contend badly. One thread also fixes the floating-point
    summation order that the CI baseline was recorded with.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
