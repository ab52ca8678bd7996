"""PettingZoo environments: the four roles as agents.

Built the way PettingZoo's own environments are::

    from chaosops.pettingzoo import env, parallel_env

    aec = env(failure_types=["rogue_deploy_bot"], tiers=["hard"], render_mode="ansi")
    aec.reset(seed=3)
    for agent in aec.agent_iter():
        obs, reward, termination, truncation, info = aec.last()
        mask = obs["action_mask"]
        action = None if termination or truncation else int(mask.nonzero()[0][0])
        aec.step(action)

Agents are ``sre``, ``oversight``, ``dev``, ``manager``, acting in that order. An agent's
observation is ``{"observation": Box(-1, 1, (OBS_LEN,), float32), "action_mask":
Box(0, 1, (n,), int8)}``; the mask says what the rules allow (``resolve`` is the manager's,
``flag_rogue`` oversight's) and is all zeros for an agent whose turn it is not. Every
agent is rewarded on every turn: the team roles get the team reward, oversight its own; the
unresolved penalty is part of the last turn's reward. The episode ends for every agent at
once: terminated when the incident is resolved, truncated when the step budget runs out.

Configuration keywords: ``failure_types``, ``tiers``, ``max_steps`` (or ``max_cycles``,
four turns each), ``reward`` (``"reference"`` or ``"strict"``), ``variation``
(``"none"`` or ``"standard"``), ``split`` (``"all"``, ``"train"``, ``"test"``),
``render_mode`` (``"ansi"`` returns the transcript).
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np
from gymnasium import spaces
from gymnasium.utils import EzPickle
from pettingzoo import AECEnv, ParallelEnv
from pettingzoo.utils import wrappers

from chaosops import _native
from chaosops._config import TURN_ORDER, env_config
from chaosops.errors import InvalidActionError

__all__ = ["env", "raw_env", "parallel_env", "ChaosOpsAECEnv", "ChaosOpsParallelEnv"]

_NAME = "chaosops_v0"


def _spaces() -> Tuple[Dict[str, spaces.Space], Dict[str, spaces.Space]]:
    n = len(_native.action_names())
    observation: Dict[str, spaces.Space] = {
        agent: spaces.Dict(
            {
                "observation": spaces.Box(low=-1.0, high=1.0, shape=(_native.OBS_LEN,), dtype=np.float32),
                "action_mask": spaces.Box(low=0, high=1, shape=(n,), dtype=np.int8),
            }
        )
        for agent in TURN_ORDER
    }
    action: Dict[str, spaces.Space] = {agent: spaces.Discrete(n) for agent in TURN_ORDER}
    return observation, action


def _check_render_mode(render_mode: Optional[str]) -> Optional[str]:
    if render_mode not in (None, "ansi"):
        from chaosops.errors import ConfigError

        raise ConfigError(f"render_mode {render_mode!r} is not supported; known: 'ansi' or None")
    return render_mode


def _action_index(agent: str, action: Any) -> int:
    try:
        return int(action)
    except (TypeError, ValueError):
        raise InvalidActionError(f"action {action!r} of agent {agent} is not a table index") from None


class _Shared:
    """What the AEC and parallel environments share: the native episode, agents, spaces,
    masks, rendering and the ground truth."""

    metadata = {"name": _NAME, "render_modes": ["ansi"], "is_parallelizable": True}

    def _setup(self, render_mode: Optional[str], max_cycles: Optional[int], config: Dict[str, Any]) -> None:
        self.render_mode = _check_render_mode(render_mode)
        self._env = _native.Env(**env_config(max_cycles=max_cycles, **config))
        self.possible_agents = list(TURN_ORDER)
        self.agents = list(TURN_ORDER)
        self.observation_spaces, self.action_spaces = _spaces()
        self._masks = {a: np.asarray(_native.action_mask(a), dtype=np.int8) for a in TURN_ORDER}

    def observation_space(self, agent: str) -> spaces.Space:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        return self.action_spaces[agent]

    def _encode(self, agent: str) -> np.ndarray:
        obs = np.empty(_native.OBS_LEN, dtype=np.float32)
        self._env.encode(obs, agent)
        return obs

    def render(self) -> Optional[str]:
        """The transcript so far (``render_mode="ansi"``)."""
        if self.render_mode is None:
            return None
        return self._env.render()

    def state(self) -> Dict[str, Any]:
        """The ground-truth state (for analysis, never for an agent)."""
        return self._env.state()

    def close(self) -> None:
        pass

    @property
    def unwrapped_env(self) -> "_native.Env":
        """The native environment underneath (prompts, views, history)."""
        return self._env


class ChaosOpsAECEnv(_Shared, AECEnv, EzPickle):
    """The turn-based (AEC) environment; see the module documentation."""

    def __init__(self, render_mode: Optional[str] = None, max_cycles: Optional[int] = None, **config: Any) -> None:
        EzPickle.__init__(self, render_mode=render_mode, max_cycles=max_cycles, **config)
        AECEnv.__init__(self)
        self._setup(render_mode, max_cycles, config)
        self._zeros = np.zeros(len(_native.action_names()), dtype=np.int8)
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos: Dict[str, Dict[str, Any]] = {a: {} for a in self.agents}
        self.agent_selection = TURN_ORDER[0]

    def reset(self, seed: Optional[int] = None, options: Optional[dict] = None) -> None:
        """Starts the episode of ``seed`` (or the next seed of this environment's stream)."""
        scenario = (options or {}).get("scenario")
        self._env.reset_only(seed, scenario=scenario)
        self.agents = list(TURN_ORDER)
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos = {a: {"scenario": self._env.scenario} for a in self.agents}
        self.agent_selection = self._env.current_role

    def observe(self, agent: str) -> Dict[str, np.ndarray]:
        obs = self._encode(agent)
        live = agent == self.agent_selection and not (self.terminations[agent] or self.truncations[agent])
        mask = self._masks[agent].copy() if live else self._zeros.copy()
        return {"observation": obs, "action_mask": mask}

    def step(self, action: Any) -> None:
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        self._cumulative_rewards[agent] = 0.0
        team, oversight, terminated, truncated = self._env.step_index(_action_index(agent, action))
        for a in self.agents:
            self.rewards[a] = oversight if a == "oversight" else team
        if terminated or truncated:
            self.terminations = dict.fromkeys(self.agents, terminated)
            self.truncations = dict.fromkeys(self.agents, truncated)
            position = TURN_ORDER.index(agent)
            self.agent_selection = TURN_ORDER[(position + 1) % len(TURN_ORDER)]
        else:
            self.agent_selection = self._env.current_role
        self._accumulate_rewards()


class ChaosOpsParallelEnv(_Shared, ParallelEnv, EzPickle):
    """The parallel environment: one step is one cycle, every role's turn in order.

    If the episode ends mid-cycle the remaining agents' actions are ignored. Rewards are each
    agent's sum over the cycle's turns. Masks are each role's own (every agent acts next cycle).
    """

    def __init__(self, render_mode: Optional[str] = None, max_cycles: Optional[int] = None, **config: Any) -> None:
        EzPickle.__init__(self, render_mode=render_mode, max_cycles=max_cycles, **config)
        self._setup(render_mode, max_cycles, config)

    def _observations(self) -> Dict[str, Dict[str, np.ndarray]]:
        return {a: {"observation": self._encode(a), "action_mask": self._masks[a].copy()} for a in TURN_ORDER}

    def reset(self, seed: Optional[int] = None, options: Optional[dict] = None):
        scenario = (options or {}).get("scenario")
        self._env.reset_only(seed, scenario=scenario)
        self.agents = list(TURN_ORDER)
        info = {"scenario": self._env.scenario}
        return self._observations(), {a: dict(info) for a in self.agents}

    def step(self, actions: Dict[str, Any]):
        rewards = dict.fromkeys(self.agents, 0.0)
        terminated = truncated = False
        for agent in TURN_ORDER:
            if self._env.done:
                break
            role = self._env.current_role
            if role not in actions:
                raise InvalidActionError(f"no action for agent {role!r}; every live agent acts each cycle")
            team, oversight, terminated, truncated = self._env.step_index(_action_index(role, actions[role]))
            for a in rewards:
                rewards[a] += oversight if a == "oversight" else team
        observations = self._observations()
        terminations = dict.fromkeys(self.agents, terminated)
        truncations = dict.fromkeys(self.agents, truncated)
        infos: Dict[str, Dict[str, Any]] = {a: {} for a in self.agents}
        if terminated or truncated:
            self.agents = []
        return observations, rewards, terminations, truncations, infos

def raw_env(**config: Any) -> ChaosOpsAECEnv:
    """The AEC environment without wrappers."""
    return ChaosOpsAECEnv(**config)


def env(**config: Any) -> AECEnv:
    """The AEC environment with PettingZoo's standard wrappers (bounds and call-order checks)."""
    e: AECEnv = raw_env(**config)
    e = wrappers.AssertOutOfBoundsWrapper(e)
    e = wrappers.OrderEnforcingWrapper(e)
    return e


def parallel_env(**config: Any) -> ChaosOpsParallelEnv:
    """The parallel environment (one step per cycle of four turns)."""
    return ChaosOpsParallelEnv(**config)
