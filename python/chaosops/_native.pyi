"""Type stubs of the native extension ``chaosops._native`` (built from crates/chaosops-py)."""

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union, final

import numpy as np
import numpy.typing as npt
from typing_extensions import Self

__all__ = [
    "AGENTS",
    "__version__",
    "Env",
    "OBS_LEN",
    "VecEnv",
    "action_mask",
    "action_names",
    "decode_action",
    "encode_action",
    "evaluate",
    "failure_types",
    "format_scores",
    "merge_shard_outputs",
    "observation_layout",
    "parse_action",
    "prompt",
    "prompt_records",
    "replay_lines",
    "score_completions",
]

#: Length of the numeric observation vector.
OBS_LEN: int
#: The agents (roles) in turn order: sre, oversight, dev, manager.
AGENTS: List[str]
__version__: str

_ActionLike = Union[int, Mapping[str, Any], str]
_ScenarioLike = Union[Mapping[str, Any], str]

@final
class Env:
    """One episode at a time, one role's turn per step (SRE, Oversight, Dev, Manager).

    Configuration: ``failure_types`` (default: each tier's curriculum pool; a compound
    incident is its types joined by ``+``, e.g. ``"db_deadlock+memory_leak"``), ``tiers``
    (default: easy, medium, hard; ``"expert"``: two incidents at once), ``max_steps``
    (default: the tier's 12, 18, 25 or 30),
    ``reward`` (``"reference"`` or ``"strict"``), ``variation`` (``"none"``, the reference
    incidents, or ``"standard"``: the service hit, magnitudes, wording, decoys and metric
    jitter drawn per episode), ``split`` (``"all"``, ``"train"`` or ``"test"``: one side of
    the held-out partition by incident family and seed).
    ``reset(seed)`` picks the scenario from the seed, so one integer reproduces an episode.
    """

    def __new__(
        cls,
        *,
        failure_types: Optional[Sequence[str]] = None,
        tiers: Optional[Sequence[str]] = None,
        max_steps: Optional[int] = None,
        reward: str = "reference",
        variation: str = "none",
        split: str = "all",
    ) -> Self: ...
    def reset(self, seed: Optional[int] = None, *, scenario: Optional[_ScenarioLike] = None) -> Dict[str, Any]:
        """Starts an episode (of ``seed``, or of an explicit replay-format ``scenario``) and
        returns the acting role's observation as the server sends it:
        ``{"observation": {"view", "step", "turn_role", "message", "last_step"}, "reward", "done"}``.
        Without either, the next seed of this environment's stream is used."""
    def reset_only(self, seed: Optional[int] = None, *, scenario: Optional[_ScenarioLike] = None) -> None:
        """Like :meth:`reset` without building the observation dict."""
    def step(self, action: _ActionLike) -> Dict[str, Any]:
        """Plays ``action`` (a table index, an action dict or JSON text) as the acting role and
        returns the next role's observation dict. Raises ``InvalidActionError`` for a bad
        action and ``EpisodeFinishedError`` once the episode is over; neither changes anything."""
    def step_index(self, index: int) -> Tuple[float, float, bool, bool]:
        """Plays table action ``index``; returns (team reward, oversight reward, terminated, truncated)."""
    def step_into(self, index: int, obs: npt.NDArray[np.float32]) -> Tuple[float, float, bool, bool]:
        """Plays table action ``index`` and writes the next acting role's observation into ``obs``."""
    def encode(self, out: npt.NDArray[np.float32], role: Optional[str] = None) -> None:
        """Writes ``role``'s numeric observation (the acting role's by default) into ``out`` (OBS_LEN float32)."""
    def action_mask(self, role: Optional[str] = None) -> List[int]:
        """What the rules allow ``role`` (the acting role by default), one 0/1 per table entry."""
    def observe(self, role: Optional[str] = None) -> Dict[str, Any]:
        """What ``role`` (the acting role by default) observes now, as the server sends it."""
    def observe_json(self, role: Optional[str] = None) -> str:
        """What ``role`` observes now, as the JSON text the server sends (``observe`` parsed)."""
    def view(self, role: str) -> Dict[str, Any]:
        """``role``'s view alone."""
    def prompt(self, role: Optional[str] = None) -> Dict[str, str]:
        """The LLM prompt of ``role`` (the acting role by default): ``{"system", "user"}``."""
    def state(self) -> Dict[str, Any]:
        """The ground-truth state."""
    def render(self) -> str:
        """A transcript of the episode so far, as ``chaosops run`` prints it."""
    @property
    def current_role(self) -> str: ...
    @property
    def done(self) -> bool: ...
    @property
    def resolved(self) -> bool: ...
    @property
    def step_count(self) -> int: ...
    @property
    def scenario(self) -> Dict[str, Any]:
        """The episode's scenario in the replay format: failure_type, seed, difficulty, max_steps."""
    @property
    def history(self) -> List[Dict[str, Any]]:
        """The actions played so far (the replay format's ``actions``)."""
    @property
    def last_step(self) -> Optional[Dict[str, Any]]:
        """The step record of the last step, or None after a reset."""
    @property
    def num_actions(self) -> int: ...
    @property
    def candidates(self) -> List[Tuple[str, str]]:
        """The (failure type, tier) pairs ``reset(seed)`` draws from."""

@final
class VecEnv:
    """N environments stepped in one call into NumPy arrays, with the GIL released.

    Turn mode (``seat=None``): every role is the caller's; observations and masks are for the
    role whose turn follows; rewards are ``(N, 4)`` in turn order. Seat mode: one learner
    ``seat``, ``others`` (a policy name or a dict role -> name) play the rest inside Rust;
    rewards are ``(N, 1)``. Auto-reset in Gymnasium's next-step mode. Results do not depend
    on ``threads`` (default 1).

    ``reset`` and ``step`` write into the five arrays they are given, or, given none, into the
    env's own (``buffers``), the fastest way: those are checked once per call rather than
    borrowed and type-checked one by one.
    """

    def __new__(
        cls,
        num_envs: int,
        *,
        seat: Optional[str] = None,
        others: Union[str, Mapping[str, str], None] = None,
        threads: Optional[int] = None,
        failure_types: Optional[Sequence[str]] = None,
        tiers: Optional[Sequence[str]] = None,
        max_steps: Optional[int] = None,
        reward: str = "reference",
        variation: str = "none",
        split: str = "all",
    ) -> Self: ...
    def reset(
        self,
        seed: int,
        obs: Optional[npt.NDArray[np.float32]] = None,
        masks: Optional[npt.NDArray[np.int8]] = None,
        rewards: Optional[npt.NDArray[np.float64]] = None,
        terminated: Optional[npt.NDArray[np.bool_]] = None,
        truncated: Optional[npt.NDArray[np.bool_]] = None,
    ) -> None:
        """Resets every environment (environment ``i`` plays seed ``seed + i``) into the five
        arrays given, or into ``buffers`` when none is."""
    def step(
        self,
        actions: npt.NDArray[np.int64],
        obs: Optional[npt.NDArray[np.float32]] = None,
        masks: Optional[npt.NDArray[np.int8]] = None,
        rewards: Optional[npt.NDArray[np.float64]] = None,
        terminated: Optional[npt.NDArray[np.bool_]] = None,
        truncated: Optional[npt.NDArray[np.bool_]] = None,
    ) -> None:
        """Steps every environment with its table index into the five arrays given, or into
        ``buffers`` when none is; a bad index changes nothing."""
    @property
    def buffers(
        self,
    ) -> Tuple[
        npt.NDArray[np.float32],
        npt.NDArray[np.int8],
        npt.NDArray[np.float64],
        npt.NDArray[np.bool_],
        npt.NDArray[np.bool_],
    ]:
        """The env's own ``(obs, masks, rewards, terminated, truncated)`` arrays, shaped
        ``(N, OBS_LEN)``, ``(N, num_actions)``, ``(N, reward_width)``, ``(N,)``, ``(N,)``: the
        same arrays every time, rewritten by each ``reset`` or ``step`` given no arrays (copy
        what you keep)."""
    def episode_seeds(self) -> List[int]: ...
    @property
    def num_envs(self) -> int: ...
    @property
    def num_actions(self) -> int: ...
    @property
    def reward_width(self) -> int: ...
    @property
    def seat(self) -> Optional[str]: ...

def action_names() -> List[str]:
    """Short names of the action table's entries (``noop``, ``restart:db``, ...), in index order."""

def decode_action(index: int) -> Dict[str, Any]:
    """The action of table index ``index``."""

def encode_action(action: _ActionLike) -> Optional[int]:
    """The table index with the same effect as ``action``, or None when the table has none."""

def action_mask(role: str) -> List[int]:
    """What the rules allow ``role``: ``resolve`` is the manager's, ``flag_rogue`` oversight's."""

def observation_layout() -> List[Tuple[str, int, int, str]]:
    """The observation vector's segments: (name, start, length, description)."""

def failure_types() -> List[Dict[str, Any]]:
    """The registered failure types: id, description, tiers, rogue_agent, source
    (``built-in``, ``plugin``, or the file of a scenario pack loaded from the folder
    ``$CHAOSOPS_SCENARIOS`` names when the package is first used)."""

def replay_lines(lines: Sequence[str], team_weight: float = 0.6) -> List[str]:
    """``chaosops replay`` in-process: one output line per input line."""

def evaluate(
    policies: Sequence[Union[str, Tuple[str, Any, int]]],
    tiers: Sequence[str],
    episodes_per_type: int,
    seed_offset: int,
    shard: Tuple[int, int],
    threads: int,
    records_path: Optional[str] = None,
    variation: str = "none",
    split: str = "all",
) -> Tuple[str, str, str, bytes, str]:
    """``chaosops eval`` in-process: (``run.json``, ``evaluation.json``, summary,
    ``episodes.jsonl``, tally JSON). A policy is a built-in name or (name, batch callable,
    lanes)."""

def merge_shard_outputs(
    runs: Sequence[str], records: Sequence[bytes], tallies: Optional[Sequence[str]] = None
) -> Tuple[str, str, str, bytes, str]:
    """Shard outputs combined as ``chaosops eval merge`` does: (``run.json``,
    ``evaluation.json``, summary, ``episodes.jsonl``, tally JSON). With the shards'
    ``tallies``, records are checked and copied, not parsed."""

def parse_action(text: str) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """Model text to (action, parse report): ``{"outcome": "parsed"}`` or
    ``{"outcome": "fallback", "reason": ...}``, plus ``dropped`` fields when any."""

def prompt(scenario: _ScenarioLike, actions: Union[Sequence[_ActionLike], str]) -> Dict[str, str]:
    """The prompt of the role whose turn follows ``actions``: ``{"role", "system", "user"}``."""

def score_completions(
    scenarios: List[Any], actions: List[Any], completions: List[str], team_weight: float = 0.6
) -> List[Optional[float]]:
    """The blended reward of each completion played as the next turn; None where a row cannot be scored."""

def format_scores(completions: List[str]) -> List[float]:
    """1.0 where the parser read an action, 0.0 where it fell back."""

def prompt_records(
    n: int,
    *,
    seed: Optional[int] = None,
    policy: str = "heuristic",
    max_depth: Optional[int] = None,
    failure_types: Optional[Sequence[str]] = None,
    tiers: Optional[Sequence[str]] = None,
    max_steps: Optional[int] = None,
) -> List[Dict[str, Any]]:
    """Prompt records (system, user, role, scenario, actions) from histories played by a
    built-in policy; ``seed`` defaults to 0 and ``max_depth`` to 6."""
