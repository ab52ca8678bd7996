"""Gymnasium environments: one learner seat, built-in policies in the others.

``import chaosops`` registers ``ChaosOps/Seat-v0``::

    import gymnasium as gym
    import chaosops  # noqa: F401  (registers the id)

    env = gym.make("ChaosOps/Seat-v0", seat="dev", others="heuristic", tiers=["easy"])
    obs, info = env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample(mask=info["action_mask"]))

    vec = gym.make_vec("ChaosOps/Seat-v0", num_envs=64, vectorization_mode="vector_entry_point")

The observation is ``Box(-1, 1, (OBS_LEN,), float32)`` (layout:
:func:`chaosops.observation_layout`); the legal-action mask is ``info["action_mask"]``
(int8), as in Gymnasium's own environments with masks. A step plays the seat's action, then
the other seats up to the seat's next turn; the reward is the seat's over all those turns
(team reward for sre, dev and manager, oversight's own for oversight), the unresolved
penalty included when the episode ends. ``terminated``: resolved; ``truncated``: out of
steps. When the other seats end an episode before the seat's first turn, the next seed of
the stream is drawn instead (``info["episode_seed"]`` says which).

Keywords: ``seat`` (default ``"sre"``), ``others`` (a policy name for every other seat, or
a dict role -> name; policies: ``oracle``, ``heuristic``, ``random``, ``noop``; default
``"heuristic"``), and the configuration keys ``failure_types``, ``tiers``, ``max_steps``,
``reward``, ``variation``, ``split``.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import gymnasium
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from chaosops import _native
from chaosops._config import env_config
from chaosops.errors import InvalidActionError, InvalidArgumentError

__all__ = ["SeatEnv", "SeatVectorEnv"]

Others = Union[str, Mapping[str, str]]


def _seed_from(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**63 - 1))


class _Buffers:
    """The native env's own arrays (``VecEnv.buffers``), rewritten by every reset and step."""

    def __init__(self, vec: _native.VecEnv) -> None:
        self.obs, self.masks, self.rewards, self.terminated, self.truncated = vec.buffers


class SeatEnv(gymnasium.Env):
    """One learner seat (see the module documentation)."""

    metadata = {"render_modes": []}

    def __init__(
        self,
        seat: str = "sre",
        others: Others = "heuristic",
        render_mode: Optional[str] = None,
        **config: Any,
    ) -> None:
        if render_mode is not None:
            raise InvalidArgumentError(
                f"render_mode {render_mode!r} is not supported by the seat environment; "
                "use chaosops.pettingzoo.env(render_mode='ansi') or chaosops.Env.render() for transcripts"
            )
        self.render_mode = None
        self._vec = _native.VecEnv(1, seat=seat, others=others, **env_config(**config))
        self._buf = _Buffers(self._vec)
        self.observation_space = spaces.Box(low=-1.0, high=1.0, shape=(_native.OBS_LEN,), dtype=np.float32)
        self.action_space = spaces.Discrete(self._vec.num_actions)
        self.seat = seat
        self._done = True

    def _info(self) -> Dict[str, Any]:
        return {"action_mask": self._buf.masks[0].copy(), "episode_seed": self._vec.episode_seeds()[0]}

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict] = None):
        super().reset(seed=seed)
        episode_seed = seed if seed is not None else _seed_from(self.np_random)
        self._vec.reset(episode_seed)
        self._done = False
        return self._buf.obs[0].copy(), self._info()

    def step(self, action: Any):
        if self._done:
            from chaosops.errors import EpisodeFinishedError

            raise EpisodeFinishedError("the episode is over; call reset() before stepping again")
        try:
            index = int(action)
        except (TypeError, ValueError):
            raise InvalidActionError(f"action {action!r} is not a table index") from None
        self._vec.step(np.array([index], dtype=np.int64))
        terminated = bool(self._buf.terminated[0])
        truncated = bool(self._buf.truncated[0])
        self._done = terminated or truncated
        return self._buf.obs[0].copy(), float(self._buf.rewards[0, 0]), terminated, truncated, self._info()

    def render(self) -> None:
        return None


class SeatVectorEnv(VectorEnv):
    """N seat environments stepped by the Rust engine in one call, with the GIL released.

    Observations, masks, rewards and flags are written into arrays allocated once; with
    ``copy=False`` (the default) ``step`` returns those same arrays, so copy what you keep.
    Auto-reset follows Gymnasium's next-step mode: the step after an episode ends resets that
    environment, ignores its action and reports reward 0. ``reset(seed=s)`` gives
    environment ``i`` seed ``s + i``; results do not depend on ``threads``.
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(
        self,
        num_envs: int = 1,
        seat: str = "sre",
        others: Others = "heuristic",
        threads: int = 1,
        copy: bool = False,
        **config: Any,
    ) -> None:
        self._vec = _native.VecEnv(num_envs, seat=seat, others=others, threads=threads, **env_config(**config))
        self.num_envs = num_envs
        self.copy = copy
        self.seat = seat
        self._buf = _Buffers(self._vec)
        self._rewards = self._buf.rewards[:, 0]
        self.single_observation_space = spaces.Box(low=-1.0, high=1.0, shape=(_native.OBS_LEN,), dtype=np.float32)
        self.single_action_space = spaces.Discrete(self._vec.num_actions)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)

    def _out(self, array: np.ndarray) -> np.ndarray:
        return array.copy() if self.copy else array

    def _infos_out(self) -> Dict[str, Any]:
        return {"action_mask": self._out(self._buf.masks)}

    def reset(self, *, seed: Union[int, Sequence[int], None] = None, options: Optional[dict] = None):
        first: Optional[int]
        if seed is None or isinstance(seed, int):
            first = seed
        else:
            seeds = [int(s) for s in seed]
            first = seeds[0] if seeds else None
            if first is None or seeds != [first + i for i in range(self.num_envs)]:
                raise InvalidArgumentError(
                    f"seeds {seeds!r}: environment i plays seed s + i, so give one int (or [s, s+1, ...])"
                )
        super().reset(seed=first)
        base_seed = first if first is not None else _seed_from(self.np_random)
        self._vec.reset(base_seed)
        return self._out(self._buf.obs), self._infos_out()

    def step(self, actions: Any):
        actions = np.ascontiguousarray(actions, dtype=np.int64).reshape(-1)
        self._vec.step(actions)
        return (
            self._out(self._buf.obs),
            self._out(self._rewards),
            self._out(self._buf.terminated),
            self._out(self._buf.truncated),
            self._infos_out(),
        )

    def episode_seeds(self) -> List[int]:
        """The seed each environment's current episode was drawn from."""
        return self._vec.episode_seeds()

    def close_extras(self, **kwargs: Any) -> None:
        pass
