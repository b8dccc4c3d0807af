"""Running ``[ingest] hook`` for a stored file, as gphoto2 runs its ``--hook-script``, within a time limit.

The hook is a program (and its arguments, split as a shell would, without a shell) started in the ingest
directory with the daemon's environment less its own ``PTPIPD_*`` settings, plus gphoto2's variables
``ACTION=download`` and ``ARGUMENT=<path of the file>``, and ``PTPIPD_*`` details of the picture (see
:func:`hook_environment`). It runs in a process group of its own: past ``timeout`` the group gets SIGTERM,
then SIGKILL a second later, so a hook that hangs (or leaves children behind) never holds ingest up. What
it prints is logged, at most :data:`OUTPUT_CAP` bytes of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
import subprocess
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Generic, TypeVar

#: The most of a hook's output kept for the log.
OUTPUT_CAP = 4096
#: Between SIGTERM and SIGKILL to a hook past its time.
KILL_GRACE = 1.0
K = TypeVar("K")


@dataclass(frozen=True, slots=True)
class HookResult:
    """How a hook run ended: its exit status (negative: killed by that signal; None: could not start)."""

    returncode: int | None
    timed_out: bool
    output: str
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the hook exited 0 in time."""
        return self.returncode == 0 and not self.timed_out

    def describe(self) -> str:
        """One phrase for the log: ``exit status 3``, ``timed out after 2 s``, ``cannot start: …``."""
        if self.error is not None:
            return f"cannot start: {self.error}"
        if self.timed_out:
            return "timed out, killed"
        assert self.returncode is not None
        return (
            f"killed by signal {-self.returncode}"
            if self.returncode < 0
            else f"exit status {self.returncode}"
        )


@dataclass(eq=False)
class HookRunner(Generic[K]):
    """Runs the hook for each stored file, one at a time, in a task of its own (:meth:`run`): a slow hook
    never delays a download. Each file comes with a token (ingest's journal key); ``finished(token, path,
    result)`` is awaited after its run."""

    argv: list[str]
    directory: Path
    env: Mapping[str, str] = field(repr=False)  # the daemon's environment: a token among it, perhaps
    timeout: float
    finished: Callable[[K, str, HookResult], Awaitable[None]]
    _queue: asyncio.Queue[tuple[K, str, dict[str, str]]] = field(default_factory=asyncio.Queue, init=False)

    @property
    def pending(self) -> int:
        """Files waiting for their hook (not the one whose hook runs)."""
        return self._queue.qsize()

    def put(self, token: K, name: str, details: dict[str, str]) -> None:
        """Queues the hook for the file ``name`` (relative to the directory), ``details`` as its ``PTPIPD_*``
        variables (:func:`hook_environment`)."""
        self._queue.put_nowait((token, name, details))

    async def run(self) -> None:
        """Runs the hooks queued, as they come, until cancelled."""
        while True:
            token, name, details = await self._queue.get()
            path = str(self.directory / name)
            env = hook_environment(self.env, path, details | {"path": path})
            result = await run_hook(self.argv, env, str(self.directory), self.timeout)
            await self.finished(token, path, result)


def hook_command(hook: str) -> list[str]:
    """The hook's argument vector (ValueError for unbalanced quotes or nothing at all)."""
    argv = shlex.split(hook)
    if not argv:
        raise ValueError("the hook is empty")
    return argv


def hook_environment(base: Mapping[str, str], path: str, details: Mapping[str, str]) -> dict[str, str]:
    """``base`` without ``PTPIPD_*`` (the daemon's own settings, a token among them), plus ``ACTION``,
    ``ARGUMENT`` and ``PTPIPD_<NAME>`` for each of ``details``."""
    env = {k: v for k, v in base.items() if not k.startswith("PTPIPD_")}
    env.update(ACTION="download", ARGUMENT=path)
    env.update({f"PTPIPD_{name.upper()}": value for name, value in details.items()})
    return env


async def run_hook(argv: list[str], env: Mapping[str, str], cwd: str, timeout: float) -> HookResult:
    """Runs the hook once and waits for it, at most ``timeout`` seconds (then kills its process group).

    Started by :class:`subprocess.Popen` (CPython's vfork: the daemon's memory is not marked copy-on-write,
    as a fork would, uvloop's among them, leaving a page fault per page the daemon writes next: 1,300 of them,
    3 ms of CPU, on the next picture's way); its end is watched by its pidfd in the event loop (Linux), else
    by a thread, and its output read from its pipe in the loop."""
    try:
        proc = _start(argv, env, cwd)
    except OSError as exc:
        return HookResult(None, False, "", exc.strerror or str(exc))
    assert proc.stdout is not None
    output = _Output(proc.stdout)
    timed_out = False
    try:
        await asyncio.wait_for(_exited(proc), timeout)
    except TimeoutError:
        timed_out = True
        await _kill_group(proc)
    finally:
        if proc.returncode is None:  # cancelled (the daemon stops): the hook goes too
            _signal_group(proc, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(KILL_GRACE)  # killed: gone at once, reaped
        # a child of the hook may still hold the pipe open: what came so far is enough
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(output.ended), 0.5)
        finally:
            output.close()  # even when cancelled again meanwhile: the pipe and its reader go
    return HookResult(proc.returncode, timed_out, output.kept.decode(errors="replace").strip())


def _start(argv: list[str], env: Mapping[str, str], cwd: str) -> subprocess.Popen[bytes]:
    """The hook started (the spawn itself is synchronous, as asyncio's own is), in a session of its own."""
    return subprocess.Popen(
        argv, cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def _exited(proc: subprocess.Popen[bytes]) -> int:
    """Waits for ``proc`` to end (and reaps it): its pidfd readable in the event loop (Linux), else
    ``waitpid`` on a thread."""
    loop = asyncio.get_running_loop()
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        return await loop.run_in_executor(None, proc.wait)
    try:
        ended = loop.create_future()
        loop.add_reader(fd, _wake, ended)
        try:
            await ended
        finally:
            loop.remove_reader(fd)
    finally:
        os.close(fd)
    return proc.wait()


class _Output:
    """What the hook prints, read from its pipe in the event loop as it comes (the first
    :data:`OUTPUT_CAP` bytes kept, the rest drained) until its end (:attr:`ended`) or :meth:`close`."""

    def __init__(self, pipe: IO[bytes]) -> None:
        self._loop = asyncio.get_running_loop()
        self._pipe = pipe
        self._fd = pipe.fileno()
        self.kept = bytearray()
        self.ended: asyncio.Future[None] = self._loop.create_future()
        os.set_blocking(self._fd, False)
        self._loop.add_reader(self._fd, self._read)

    def _read(self) -> None:
        try:
            chunk = os.read(self._fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self.close()
            return
        self.kept += chunk[: max(0, OUTPUT_CAP - len(self.kept))]

    def close(self) -> None:
        """Stops reading and closes the pipe (once)."""
        if not self.ended.done():
            self._loop.remove_reader(self._fd)
            self._pipe.close()
            self.ended.set_result(None)


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


async def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    _signal_group(proc, signal.SIGTERM)
    try:
        await asyncio.wait_for(_exited(proc), KILL_GRACE)
    except TimeoutError:
        _signal_group(proc, signal.SIGKILL)
        await _exited(proc)
    _signal_group(proc, signal.SIGKILL)  # children that outlived the hook
