"""chaosops.gymnasium: the registered seat environment and its Rust-backed vector env."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import chaosops
from chaosops import errors
from chaosops.gymnasium import SeatEnv, SeatVectorEnv

from conftest import vec_buffers


@pytest.mark.parametrize("seat", chaosops.AGENTS)
def test_check_env_for_every_seat(seat):
    env = gym.make("ChaosOps/Seat-v0", seat=seat, others="heuristic")
    check_env(env.unwrapped, skip_render_check=True)


def test_make_vec_uses_the_vector_entry_point():
    vec = gym.make_vec("ChaosOps/Seat-v0", num_envs=8, vectorization_mode="vector_entry_point", seat="dev")
    assert isinstance(vec, SeatVectorEnv)
    obs, info = vec.reset(seed=5)
    assert obs.shape == (8, chaosops.OBS_LEN) and obs.dtype == np.float32
    assert info["action_mask"].shape == (8, chaosops.num_actions)
    assert vec.single_action_space.n == chaosops.num_actions
    ends = 0
    for _ in range(200):
        actions = np.array([vec.single_action_space.sample(mask=m) for m in info["action_mask"]])
        obs, rewards, terminated, truncated, info = vec.step(actions)
        assert rewards.shape == (8,) and terminated.dtype == bool
        ends += int(terminated.sum() + truncated.sum())
    assert ends > 10


def test_the_vector_env_matches_single_seat_envs():
    n = 4
    vec = SeatVectorEnv(num_envs=n, seat="sre", others="oracle")
    singles = [SeatEnv(seat="sre", others="oracle") for _ in range(n)]
    vobs, _ = vec.reset(seed=100)
    for i, s in enumerate(singles):
        o, info = s.reset(seed=100 + i)
        np.testing.assert_array_equal(vobs[i], o)
    rng = np.random.default_rng(0)
    pending = [False] * n
    for _ in range(120):
        actions = rng.integers(0, chaosops.num_actions, size=n)
        vobs, vrew, vterm, vtrunc, _ = vec.step(actions)
        for i, s in enumerate(singles):
            if pending[i]:
                # Next-step auto-reset: reward 0, the next episode of env i's seed stream.
                assert vrew[i] == 0.0 and not vterm[i] and not vtrunc[i]
                o, _ = s.reset(seed=vec.episode_seeds()[i])
                pending[i] = False
            else:
                o, r, te, tr, _ = s.step(int(actions[i]))
                assert (vrew[i], vterm[i], vtrunc[i]) == (r, te, tr)
                pending[i] = te or tr
            np.testing.assert_array_equal(vobs[i], o)


def _digest(threads, seat="manager", others="heuristic", steps=150):
    vec = SeatVectorEnv(num_envs=33, seat=seat, others=others, threads=threads, copy=True)
    obs, info = vec.reset(seed=7)
    rng = np.random.default_rng(1)
    out = [obs]
    for _ in range(steps):
        actions = rng.integers(0, chaosops.num_actions, size=33)
        obs, r, te, tr, info = vec.step(actions)
        out += [obs, r, te, tr, info["action_mask"]]
    return out


def test_vector_results_do_not_depend_on_threads():
    one = _digest(1)
    for threads in (2, 4):
        for a, b in zip(one, _digest(threads)):
            np.testing.assert_array_equal(a, b)


def test_arrays_are_reused_without_copy():
    vec = SeatVectorEnv(num_envs=2)
    obs, _ = vec.reset(seed=0)
    obs2, *_ = vec.step(np.zeros(2, dtype=np.int64))
    assert obs2 is obs, "copy=False hands back the engine's buffers"
    vec = SeatVectorEnv(num_envs=2, copy=True)
    obs, _ = vec.reset(seed=0)
    assert vec.step(np.zeros(2, dtype=np.int64))[0] is not obs


def test_bad_input_names_the_value():
    with pytest.raises(errors.ConfigError, match='unknown role "boss"'):
        SeatVectorEnv(num_envs=2, seat="boss")
    with pytest.raises(errors.ConfigError, match='unknown policy "smart"'):
        SeatVectorEnv(num_envs=2, others="smart")
    with pytest.raises(errors.ConfigError, match="num_envs: 0 is out of range"):
        SeatVectorEnv(num_envs=0)
    with pytest.raises(errors.ConfigError, match="threads: 100000 is out of range"):
        SeatVectorEnv(num_envs=2, threads=100000)
    vec = SeatVectorEnv(num_envs=3)
    vec.reset(seed=1)
    before = vec.step(np.zeros(3, dtype=np.int64))[0].copy()
    with pytest.raises(errors.InvalidActionError, match="action index 77"):
        vec.step(np.array([0, 77, 0]))
    with pytest.raises(errors.InvalidArgumentError, match="got 2 actions for 3 environments"):
        vec.step(np.array([0, 0]))
    np.testing.assert_array_equal(vec._buf.obs, before)
    with pytest.raises(gym.error.Error, match="actual value: -1"):
        vec.reset(seed=-1)  # Gymnasium's own seed check
    with pytest.raises(errors.InvalidArgumentError, match="seed: -1 is out of range"):
        chaosops.Env().reset(seed=-1)
    with pytest.raises(errors.InvalidArgumentError, match="environment i plays seed s \\+ i"):
        vec.reset(seed=[1, 5, 9])
    env = SeatEnv()
    with pytest.raises(errors.EpisodeFinishedError):
        env.step(0)


def test_native_turn_mode_vector():
    n = 5
    v = chaosops.VecEnv(n, threads=2)
    bufs = vec_buffers(n, 4)
    v.reset(3, *bufs)
    assert v.reward_width == 4 and v.seat is None
    env = chaosops.Env()
    env.reset(seed=3)
    for k in range(30):
        actions = np.full(n, k % 7, dtype=np.int64)
        v.step(actions, *bufs)
        if env.done:
            break
        team, oversight, te, tr = env.step_index(k % 7)
        np.testing.assert_array_equal(bufs[2][0], [team, oversight, team, team])
    with pytest.raises(TypeError):
        v.step(np.zeros(n, dtype=np.int32), *bufs)
    with pytest.raises(errors.InvalidArgumentError, match="contiguous int64 array of 5 values"):
        v.step(np.zeros(2 * n, dtype=np.int64)[::2], *bufs)
    with pytest.raises(errors.InvalidArgumentError, match="buffer masks holds"):
        v.step(np.zeros(n, dtype=np.int64), bufs[0], np.zeros((n, 3), np.int8), *bufs[2:])


def test_a_vector_wider_than_the_actions_stack_copy_steps_each_env_with_its_own_action():
    # Up to 256 actions are copied on the stack, more to the heap: the last of 300
    # environments must still play its own action, as a lone Env of its seed does.
    n = 300
    v = chaosops.VecEnv(n)
    v.reset(5)
    env = chaosops.Env()
    env.reset(seed=5 + n - 1)
    rng = np.random.default_rng(1)
    compared = 0
    for _ in range(12):
        actions = rng.integers(0, chaosops.num_actions, size=n, dtype=np.int64)
        v.step(actions)
        if env.done:
            break
        team, oversight, _, _ = env.step_index(int(actions[-1]))
        np.testing.assert_array_equal(v.buffers[2][-1], [team, oversight, team, team])
        compared += 1
    assert compared >= 3


@pytest.mark.parametrize("seat", [None, "oversight"])
def test_the_envs_own_buffers_equal_arrays_passed_in(seat):
    # Two identical vector envs, one writing into its own arrays (VecEnv.buffers), one into
    # arrays the caller passes: every output equals, step after step, across auto-resets.
    n = 6
    own = chaosops.VecEnv(n, seat=seat, others="heuristic", max_steps=9)
    passed = chaosops.VecEnv(n, seat=seat, others="heuristic", max_steps=9)
    bufs = vec_buffers(n, passed.reward_width)
    own.reset(11)
    passed.reset(11, *bufs)
    arrays = own.buffers
    assert all(a is b for a, b in zip(arrays, own.buffers))
    assert [a.shape for a in arrays] == [b.shape for b in bufs]
    assert [a.dtype for a in arrays] == [b.dtype for b in bufs]
    rng = np.random.default_rng(3)
    resets = 0
    for _ in range(40):
        for a, b in zip(arrays, bufs):
            np.testing.assert_array_equal(a, b)
        actions = rng.integers(0, chaosops.num_actions, size=n, dtype=np.int64)
        own.step(actions)
        passed.step(actions, *bufs)
        resets += int(arrays[3].sum() + arrays[4].sum())
    assert resets > 0
    assert own.episode_seeds() == passed.episode_seeds()


def test_the_envs_own_buffers_refuse_half_given_arrays_and_a_read_only_one():
    n = 2
    v = chaosops.VecEnv(n)
    bufs = vec_buffers(n, 4)
    with pytest.raises(errors.InvalidArgumentError, match="all five output arrays or none.*missing: rewards, terminated, truncated"):
        v.reset(0, bufs[0], bufs[1])
    v.reset(0)
    before = [a.copy() for a in v.buffers]
    v.buffers[0].flags.writeable = False
    with pytest.raises(errors.InvalidArgumentError, match="own obs array .* writeable, C-contiguous array of 398 values"):
        v.step(np.zeros(n, dtype=np.int64))
    # Refused before any environment moved: the other arrays are as they were.
    for a, b in zip(v.buffers[1:], before[1:]):
        np.testing.assert_array_equal(a, b)
    v.buffers[0].flags.writeable = True
    v.step(np.zeros(n, dtype=np.int64))


def test_two_threads_stepping_one_env_into_its_own_buffers_take_turns():
    # Each call checks the arrays with the GIL held and writes them on the env's lock with the
    # GIL released: two threads stepping one env must neither deadlock nor fail, and the env
    # must have stepped once per call (turn mode: every call moves each environment one turn
    # or resets it).
    import threading

    n = 8
    v = chaosops.VecEnv(n, max_steps=1000)
    v.reset(0)
    actions = np.zeros(n, dtype=np.int64)
    errors_seen = []

    def worker():
        try:
            for _ in range(300):
                v.step(actions)
        except Exception as e:  # reported by the assertion below
            errors_seen.append(e)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert errors_seen == []
    # The calls are serialised and identical (noop everywhere), so 600 of them from two
    # threads leave the env where 600 from one thread do.
    single = chaosops.VecEnv(n, max_steps=1000)
    single.reset(0)
    for _ in range(600):
        single.step(actions)
    for a, b in zip(v.buffers, single.buffers):
        np.testing.assert_array_equal(a, b)
