"""The model's input error: every problem names the field it concerns (see `vpclab.errors`)."""

from __future__ import annotations

from vpclab.errors import InputError, Problem

__all__ = ["ModelError", "Problem"]


class ModelError(InputError):
    """Raised by the model's validation with every problem found, each named by its field path."""
