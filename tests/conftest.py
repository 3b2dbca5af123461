"""Suite-wide test settings, and the requirements continuous integration must meet."""

from __future__ import annotations

import importlib.util
import os

import pytest
import torch

#: The optional packages whose tests skip without them, and the extra that installs each. CI
#: (``.ci/run``) installs them all.
OPTIONAL_PACKAGES = {"piq": "test", "tensorboard": "tensorboard", "ray": "ray"}


def in_ci() -> bool:
    """Whether the suite runs under continuous integration (``CI`` set, as ``.ci/run`` and most CI
    services set it), where a check must not skip for want of something CI provides."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unmet_ci_requirements() -> list[str]:
    """What CI provides but this environment lacks: the verified backbone weights, the optional
    packages. Elsewhere their tests skip with a reason; in CI they would skip silently."""
    from helpers import missing_backbones
    from vfibench import backbones

    missing = missing_backbones(*backbones.BACKBONES)
    unmet = [f"the verified {' and '.join(missing)} weights (`vfibench weights fetch`)"] if missing else []
    unmet += [f"{package} (the {extra} extra)" for package, extra in OPTIONAL_PACKAGES.items()
              if importlib.util.find_spec(package) is None]
    return unmet


def pytest_sessionstart(session: pytest.Session) -> None:
    """In CI, stop before any test if something CI provides is missing: otherwise the LPIPS, DISTS,
    baseline, Ray and reference checks would skip and the run would still pass."""
    if in_ci() and (unmet := unmet_ci_requirements()):
        pytest.exit(f"CI is set, but this environment lacks {'; '.join(unmet)}. The tests that need them "
                    "would skip and CI would pass without them: install them (`make setup "
                    "EXTRAS=test,video,tensorboard,ray` does), or unset CI to let them skip.", returncode=3)


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
