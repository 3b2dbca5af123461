"""User-facing errors.

Every problem a user can fix (a bad spec, a missing file, an absent backbone) is raised as a
:class:`VfiBenchError`. Its message is one self-contained paragraph: what was wrong, where,
and how to fix it. The CLI prints it without a traceback and exits with code 2.
"""

from __future__ import annotations


class VfiBenchError(Exception):
    """A problem with the user's input or environment, explained in one paragraph."""

    exit_code: int = 2


class SpecError(VfiBenchError):
    """A loss specification that cannot be parsed or makes no sense."""


class DataError(VfiBenchError):
    """A dataset that is missing, malformed or unreadable."""


class BackboneUnavailable(VfiBenchError):
    """A pretrained backbone (AlexNet/VGG16) is needed but not present or not verified."""


class ResultsError(VfiBenchError):
    """A results directory or file that is missing, corrupt or foreign."""
