"""Exceptions raised by ChaosOps.

Every error the native engine reports is a :class:`ChaosOpsError`; bad input is also a
:class:`ValueError`, and calls made at the wrong time are also a :class:`RuntimeError`, so
code written against the builtin classes keeps working. Each message names the offending
value.
"""

from __future__ import annotations

__all__ = [
    "ChaosOpsError",
    "ConfigError",
    "InvalidActionError",
    "InvalidArgumentError",
    "EpisodeFinishedError",
    "NotResetError",
]


class ChaosOpsError(Exception):
    """Base class of every ChaosOps error."""


class ConfigError(ChaosOpsError, ValueError):
    """A configuration value that cannot be used: unknown failure type, tier, preset or policy."""


class InvalidActionError(ChaosOpsError, ValueError):
    """An action that is not valid: an index outside the table, an unknown action type, a value over a limit."""


class InvalidArgumentError(ChaosOpsError, ValueError):
    """A wrong argument: a buffer of the wrong shape or dtype, mismatched lengths, an unknown role."""


class EpisodeFinishedError(ChaosOpsError, RuntimeError):
    """Stepping an episode that is over; reset it first."""


class NotResetError(ChaosOpsError, RuntimeError):
    """Stepping or observing before the first reset."""
