"""Shared handling of environment configuration keywords."""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence

from chaosops.errors import ConfigError

#: Roles take turns in this order; one cycle is one turn of each.
TURN_ORDER = ("sre", "oversight", "dev", "manager")


def env_config(
    failure_types: Optional[Sequence[str]] = None,
    tiers: Optional[Sequence[str]] = None,
    max_steps: Optional[int] = None,
    reward: str = "reference",
    variation: str = "none",
    split: str = "all",
    max_cycles: Optional[int] = None,
) -> Dict[str, Any]:
    """Normalises configuration keywords into the native constructor's keywords.

    ``max_cycles`` (PettingZoo's name) sets ``max_steps`` to four turns per cycle; giving
    both is an error.
    """
    if isinstance(failure_types, str):
        failure_types = [failure_types]
    if isinstance(tiers, str):
        tiers = [tiers]
    if max_cycles is not None:
        if max_steps is not None:
            raise ConfigError(
                f"max_cycles={max_cycles} and max_steps={max_steps} both set the step budget; give one"
            )
        if isinstance(max_cycles, bool) or not isinstance(max_cycles, int) or not 1 <= max_cycles <= 250:
            raise ConfigError(f"max_cycles: {max_cycles!r} is out of range; allowed: 1..=250")
        max_steps = max_cycles * len(TURN_ORDER)
    return {
        "failure_types": None if failure_types is None else list(failure_types),
        "tiers": None if tiers is None else list(tiers),
        "max_steps": max_steps,
        "reward": reward,
        "variation": variation,
        "split": split,
    }
