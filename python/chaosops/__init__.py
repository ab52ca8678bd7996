"""ChaosOps: a deterministic production-incident simulator for incident-response agents.

Four roles (``sre``, ``oversight``, ``dev``, ``manager``) take turns on one simulated fleet
while a failure degrades it. The engine is Rust; this package offers it as

- :class:`Env`: the turn-based environment with dict observations (the server's JSON), any
  role's view, prompts, the ground truth, and a numeric fast path;
- :class:`VecEnv`: N environments stepped in one call into NumPy arrays you own;
- :mod:`chaosops.pettingzoo`: PettingZoo ``AECEnv`` and ``ParallelEnv``;
- :mod:`chaosops.gymnasium`: the single-seat Gymnasium environment ``ChaosOps/Seat-v0``
  (registered on import) and its Rust-backed vector environment;
- :mod:`chaosops.trl`: GRPO reward functions and a prompt dataset builder;
- :mod:`chaosops.evaluation`: ``chaosops eval`` for built-in and Python policies (per step
  or batched), with the command's episode list and files;
- :mod:`chaosops.ray`: the same evaluation sharded over a Ray cluster.

Example::

    import chaosops

    env = chaosops.Env(failure_types=["db_deadlock"])
    obs = env.reset(seed=7)
    obs = env.step({"action_type": "identify_root_cause", "args": {"failure_type": "db_deadlock"}})
    print(obs["observation"]["message"])
"""

from __future__ import annotations

from chaosops import errors
from chaosops._native import (
    AGENTS,
    OBS_LEN,
    Env,
    VecEnv,
    __version__,
    action_mask,
    action_names,
    decode_action,
    encode_action,
    failure_types,
    format_scores,
    observation_layout,
    parse_action,
    prompt,
    prompt_records,
    replay_lines,
    score_completions,
)
from chaosops.errors import (
    ChaosOpsError,
    ConfigError,
    EpisodeFinishedError,
    InvalidActionError,
    InvalidArgumentError,
    NotResetError,
)

__all__ = [
    "AGENTS",
    "OBS_LEN",
    "ChaosOpsError",
    "ConfigError",
    "Env",
    "EpisodeFinishedError",
    "InvalidActionError",
    "InvalidArgumentError",
    "NotResetError",
    "VecEnv",
    "__version__",
    "action_mask",
    "action_names",
    "decode_action",
    "encode_action",
    "errors",
    "failure_types",
    "format_scores",
    "num_actions",
    "observation_layout",
    "parse_action",
    "prompt",
    "prompt_records",
    "replay_lines",
    "score_completions",
]

#: Number of entries in the action table (index 0 is ``noop``).
num_actions: int = len(action_names())


def _register() -> None:
    import gymnasium

    if "ChaosOps/Seat-v0" not in gymnasium.registry:
        gymnasium.register(
            id="ChaosOps/Seat-v0",
            entry_point="chaosops.gymnasium:SeatEnv",
            vector_entry_point="chaosops.gymnasium:SeatVectorEnv",
        )


_register()
