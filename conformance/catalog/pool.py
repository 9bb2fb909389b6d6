"""The user pool: how parallel workers and shards share one SUT (docs/parallel.md).

A profile lists its ``[[users]]``; ``[pool] users_per_worker = W`` cuts them, in order,
into ``len(users) // W`` disjoint slices. Each pytest-xdist worker of a run, and each shard
of a sharded run against the same SUT, takes its own slice, so two of them never use the
same user at the same time:

    slice index = (K - 1) * workers + worker     (shard K/N, xdist worker gwN)

A run with neither workers nor shards uses every user (the pool is one slice). A test case
that needs more users than a slice holds (marker ``users(n)``), or the SUT client's user
(the pool's first, for the client test cases), runs in the serial group: after every other
test case, on one worker, with the whole pool.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from conformance.catalog.profile import Pixit, User

__all__ = [
    "PoolError",
    "PoolSlice",
    "slice_count",
    "slice_for",
    "slice_users",
    "users_per_slice",
    "whole_pool",
    "with_users",
]


class PoolError(ValueError):
    """The run needs more slices of the user pool than the profile has (one line)."""


def users_per_slice(pixit: Pixit) -> int:
    """Users per slice: ``[pool] users_per_worker``, else every user."""
    users = pixit.all_users
    return pixit.users_per_worker or len(users)


def slice_count(pixit: Pixit) -> int:
    """How many disjoint slices (parallel workers or shards) the pool supports (>= 1)."""
    per = users_per_slice(pixit)
    if per <= 0:
        return 1
    return max(1, len(pixit.all_users) // per)


def slice_users(pixit: Pixit, index: int) -> tuple[User, ...]:
    """The users of slice ``index`` (0-based)."""
    per = users_per_slice(pixit)
    return pixit.all_users[index * per : (index + 1) * per]


@dataclass(frozen=True, slots=True)
class PoolSlice:
    """Which slice this process uses: ``None`` for the whole pool."""

    index: int | None
    #: what the index was derived from (for messages): "serial", "worker gw1", "shard 2/4 ..."
    origin: str


def slice_for(
    pixit: Pixit,
    *,
    worker: int | None,
    workers: int,
    shard: tuple[int, int] | None,
) -> PoolSlice:
    """The slice of xdist worker ``worker`` (of ``workers``) in shard ``(K, N)``.

    Raises :class:`PoolError` when the pool has fewer slices than the run needs."""
    if worker is None and shard is None:
        return PoolSlice(None, "serial")
    if not pixit.users_per_worker:
        # no [pool] table: every worker and shard has every user (a SUT each, or serial)
        return PoolSlice(None, "no [pool]")
    per_shard = max(1, workers) if worker is not None else 1
    k, n = shard if shard is not None else (1, 1)
    index = (k - 1) * per_shard + (worker or 0)
    needed = n * per_shard
    have = slice_count(pixit)
    if needed > have:
        what = []
        if shard is not None:
            what.append(f"{n} shards")
        if worker is not None:
            what.append(f"{per_shard} workers" + (" each" if shard is not None else ""))
        raise PoolError(
            f"the user pool has {have} slice{'s' if have != 1 else ''} of"
            f" {users_per_slice(pixit)} users ({len(pixit.all_users)} [[users]],"
            f" [pool] users_per_worker); {' of '.join(reversed(what))} need {needed}:"
            " add users to the profile or run fewer workers"
        )
    origin = f"worker gw{worker}" if worker is not None else "serial"
    if shard is not None:
        origin += f" of shard {k}/{n}"
    return PoolSlice(index, origin)


def with_users(pixit: Pixit, pool_slice: PoolSlice) -> Pixit:
    """``pixit`` whose ``users`` is the slice (``pool`` keeps every user)."""
    if pool_slice.index is None:
        return pixit
    return dataclasses.replace(
        pixit, users=slice_users(pixit, pool_slice.index), pool=pixit.all_users
    )


def whole_pool(pixit: Pixit) -> Pixit:
    """``pixit`` with every user (the serial group's view)."""
    return dataclasses.replace(pixit, users=pixit.all_users, pool=())
