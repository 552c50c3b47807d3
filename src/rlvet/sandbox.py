"""Run user code -- env factories, envs, policies, reward functions -- in a child process
under wall-clock budgets and a memory cap, so a hang, a crash or a memory hog becomes data.

Contents:
    UserCall -- which kind of user code was running (build, reset, step, policy, ...).
    FailureKind -- how a call failed: raised, died, hung, out_of_memory (skipped: not run).
    Failure -- one failed request, typed, with its evidence (exit code, signal, call, budget).
    Outcome -- a request's value, the items it streamed, and its failure if any.
    Limits -- the per-call and setup budgets and the memory cap, bounded and validated.
    bounded_seconds -- the one check every user-given budget passes (finite, > 0, <= max).
    Heartbeat -- the child's side: which user call runs now, how many returned, items out.
    Sandbox -- the parent's side: starts the child, sends requests, kills it on a hang,
        reports its death, and starts a fresh one for the next request.

Why a child process: Python cannot interrupt a C extension stuck in a call, and
``os._exit``, ``abort()`` or a segfault in user code ends whatever process runs it. In a
child, the first is a ``hung`` failure after the budget and the others a ``died`` failure
with the exit code or signal; the caller turns either into a finding. The child bumps a
shared progress word around every user call it makes; the parent polls it and kills the
child when it stops moving for longer than the budget of the call in progress.

Budgets: ``call_s`` for calls that should be quick (``reset``, ``step``, a policy's forward
pass), ``setup_s`` for imports, env construction, ``close`` and rlvet's own work between
calls. Memory: ``RLIMIT_DATA`` in the child, the memory it already had plus ``memory_mb``;
an allocation past it raises ``MemoryError`` there (an ``out_of_memory`` failure). Not
``RLIMIT_AS``: CUDA, JAX and every thread stack reserve address space they never touch, so
an address-space cap breaks healthy envs long before they use the memory.

Example:
    >>> def handler(hb, request, *, x):
    ...     return hb.call(UserCall.STEP, lambda: x * 2)
    >>> with Sandbox(handler, limits=Limits(call_s=2.0)) as box:
    ...     box.call("double", x=21).value
    42
"""

from __future__ import annotations

import contextlib
import inspect
import math
import multiprocessing as mp
import os
import signal
import sys
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from rlvet.errors import RlvetInputError

__all__ = [
    "MAX_BUDGET_S",
    "SETUP_BUDGET_S",
    "SETUP_CALLS",
    "Failure",
    "FailureKind",
    "Handler",
    "Heartbeat",
    "Limits",
    "Outcome",
    "Sandbox",
    "UserCall",
    "WarmUp",
    "bounded_seconds",
    "default_memory_mb",
]

MAX_BUDGET_S = 3600.0
"""An hour: no single env or policy call is legitimately silent for longer, and an unbounded
budget (``inf``) would let one hang freeze the command forever."""
SETUP_BUDGET_S = 60.0  # building an env (compiling a simulator, loading a model) may be slow
MEMORY_SHARE = 0.5  # default cap: half the machine's RAM, so a hog fails before the OOM killer
POLL_S = 0.02  # watchdog granularity; small next to any budget a person would set
REAP_S = 2.0  # the pipe can close before the exit status is readable


class UserCall(StrEnum):
    """Which user code the child was running (evidence for a hang or a death)."""

    BUILD = "build"  # an env factory: importing its module and constructing the env
    LOAD = "load"  # loading a policy or expert: its module, checkpoint or model file
    RESET = "reset"
    STEP = "step"
    POLICY = "policy"  # one (batched) policy or expert call
    REWARD = "reward"  # a user reward function
    CLOSE = "close"
    OTHER = "other"  # between tracked calls: rlvet's own work, spaces, copies


SETUP_CALLS = frozenset({UserCall.BUILD, UserCall.LOAD, UserCall.CLOSE, UserCall.OTHER})
"""Calls judged by the setup budget; every other call by the per-call budget."""
_CALLS: tuple[UserCall, ...] = tuple(UserCall)
_CODE = {call: i for i, call in enumerate(_CALLS)}
_OTHER = _CODE[UserCall.OTHER]
_RAISED_IN = "_rlvet_user_call"  # attribute naming the user call an exception came out of
_T = TypeVar("_T")


class FailureKind(StrEnum):
    """How a request failed."""

    RAISED = "raised"  # user code raised; the child is still usable
    DIED = "died"  # the child exited or was killed by a signal (os._exit, abort, segfault)
    HUNG = "hung"  # no progress within the budget of the call in progress; child killed
    OUT_OF_MEMORY = "out_of_memory"  # an allocation past the memory cap; child killed
    SKIPPED = "skipped"  # not run: the caller gave up after earlier failures


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a request did not finish, with the numbers behind it.

    Attributes:
        kind: raised, died, hung, out_of_memory or skipped.
        detail: one line: ``"ValueError: bad action"``, ``"killed by signal SIGSEGV"``.
        call: the user call in progress when it failed.
        calls_done: user calls that returned during this request before it failed.
        exit_code: the child's exit status (died), negative for a signal.
        signal: the signal's name (``"SIGABRT"``), if a signal ended the child.
        budget_s: the budget that ran out (hung).
        env_calls: calls of the hung call's kind (reset, step, ...) that returned since the
            last env was built: 0 is a freshly built env's first reset or step.
    """

    kind: FailureKind
    detail: str
    call: UserCall = UserCall.OTHER
    calls_done: int = 0
    exit_code: int | None = None
    signal: str | None = None
    budget_s: float | None = None
    env_calls: int | None = None

    def to_evidence(self) -> dict[str, Any]:
        """JSON-ready evidence for a finding."""
        out: dict[str, Any] = {"failure": str(self.kind), "call": str(self.call),
                               "calls_done": self.calls_done, "detail": self.detail}
        for key in ("exit_code", "signal", "budget_s"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


@dataclass(slots=True)
class Outcome:
    """What a request gave back: its value or streamed items, and its failure if any.

    Generator handlers stream ``items`` one by one, so the work finished before a hang or a
    death is kept; plain handlers set ``value``.
    """

    value: Any = None
    items: list[Any] = field(default_factory=list)
    failure: Failure | None = None


def bounded_seconds(value: Any, *, name: str, maximum: float = MAX_BUDGET_S) -> float:
    """``value`` as float seconds, or ``RlvetInputError`` unless finite, > 0 and <= maximum.

    Example:
        >>> bounded_seconds(2, name="--step-timeout")
        2.0
    """
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value <= 0 or value > maximum:
        raise RlvetInputError(f"{name}: expected a number of seconds in (0, {maximum:g}], "
                              f"got {value!r}")
    return float(value)


def default_memory_mb() -> int:
    """``MEMORY_SHARE`` of the machine's physical memory, in MiB (8 GiB where unknown)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8192
    return max(256, int(total * MEMORY_SHARE) // 2**20)


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Budgets for one sandbox.

    Attributes:
        call_s: seconds one quick call (reset, step, a policy call) may take.
        setup_s: seconds for imports, construction, close and rlvet's work between calls;
            None reads ``SETUP_BUDGET_S`` when the sandbox starts.
        memory_mb: memory the child may add to what it starts with; None is
            ``default_memory_mb()``.
    """

    call_s: float
    setup_s: float | None = None
    memory_mb: int | None = None

    def __post_init__(self) -> None:
        bounded_seconds(self.call_s, name="call budget")
        if self.setup_s is not None:
            bounded_seconds(self.setup_s, name="setup budget")
        if self.memory_mb is not None and (
            not isinstance(self.memory_mb, int) or isinstance(self.memory_mb, bool)
            or self.memory_mb <= 0
        ):
            raise RlvetInputError(f"memory cap: expected a positive number of MiB, "
                                  f"got {self.memory_mb!r}")

    def resolved(self) -> Limits:
        """These limits with the defaults filled in (read now, so tests can lower them)."""
        return Limits(call_s=self.call_s,
                      setup_s=SETUP_BUDGET_S if self.setup_s is None else self.setup_s,
                      memory_mb=default_memory_mb() if self.memory_mb is None else self.memory_mb)

    def budget(self, call: UserCall) -> float:
        """The budget that applies while ``call`` is in progress."""
        if call in SETUP_CALLS:
            return SETUP_BUDGET_S if self.setup_s is None else self.setup_s
        return self.call_s


@dataclass(frozen=True, slots=True)
class WarmUp:
    """A longer budget for the first calls of one request.

    Why: a freshly built env may compile or load lazily on first use (JAX-jitted envs such
    as jumanji or gymnax compile reset and step on their first call: seconds, more on a
    loaded machine) and then step in microseconds. Judged by the per-call budget, that
    first call reads as a hang.

    Attributes:
        calls: how many of each freshly built env's first calls of each kind (its first
            resets, its first steps) get ``budget_s``.
        budget_s: their budget (never below the per-call budget).
    """

    calls: int
    budget_s: float


# --------------------------------------------------------------------------- child side


class Heartbeat:
    """The child's side of the watch: the user call in progress, calls done, items out.

    Outside a sandbox (``Heartbeat()``) every method is a no-op, so code written for the
    child runs unchanged in-process.
    """

    __slots__ = ("_done", "_in", "_send", "_since_build", "_state", "_ticks")

    def __init__(self, state: Any | None = None,
                 send: Callable[[Any], None] | None = None) -> None:
        # shared int64[4]: progress ticks, call code, calls done, and how many calls of the
        # kind in progress returned since the last env was built
        self._state: Any = state
        self._send = send
        self._ticks = 0
        self._done = 0
        self._since_build: dict[UserCall, int] = {}
        self._in: UserCall = UserCall.OTHER

    def enter(self, call: UserCall) -> None:
        """User code of kind ``call`` starts now."""
        self._in = call
        if self._state is not None:
            self._ticks += 1
            self._state[3] = self._since_build.get(call, 0)
            self._state[1] = _CODE[call]
            self._state[0] = self._ticks

    def done(self) -> None:
        """The call entered last returned."""
        if self._in is UserCall.BUILD:
            self._since_build.clear()
        else:
            self._since_build[self._in] = self._since_build.get(self._in, 0) + 1
        if self._state is not None:
            self._done += 1
            self._state[2] = self._done
            self._leave()

    def returned_since_build(self, call: UserCall) -> int:
        """Calls of kind ``call`` that returned since the last env was built: 0 before a
        fresh env's first reset, whose cost (lazy set-up) is not the env's usual one."""
        return self._since_build.get(call, 0)

    def _leave(self) -> None:
        self._ticks += 1
        self._state[1] = _OTHER
        self._state[0] = self._ticks

    def call(self, call: UserCall, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> _T:
        """``fn(*args, **kwargs)`` timed as a ``call``.

        If it raises, the watch returns to rlvet's own budget and the exception is tagged
        with the call's name (innermost call first), for the failure's evidence if it ends
        the request.
        """
        self.enter(call)
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            if not hasattr(exc, _RAISED_IN):
                with contextlib.suppress(AttributeError, TypeError):
                    setattr(exc, _RAISED_IN, call)
            if self._state is not None:
                self._leave()
            raise
        self.done()
        return result

    def emit(self, item: Any) -> None:
        """Stream ``item`` to the parent now (progress ticks, finished episodes)."""
        if self._send is not None:
            self._send(("item", item, None))


class Handler(Protocol):
    """What a sandbox child runs: ``handler(hb, request, **kwargs)`` -> value or generator.

    A generator's items stream to the parent as they are yielded, its return value is the
    request's value. Raising ``RlvetInputError`` means the *input* is bad: it is re-raised
    in the parent unchanged (exit 2 in the CLI), not reported as a failure of user code.
    """

    def __call__(self, hb: Heartbeat, request: str, /, **kwargs: Any) -> Any: ...


def _vm_data_bytes() -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmData:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


def _isolate(memory_mb: int, forked: bool) -> None:
    """Child set-up: own process group, no core files, the memory cap, clean stdout."""
    try:
        import resource
    except ImportError:  # Windows: no rlimits; budgets still hold, the memory cap does not
        resource = None  # type: ignore[assignment]  # mypy's idiom for an optional module
    if hasattr(os, "setpgid"):
        with contextlib.suppress(OSError):
            os.setpgid(0, 0)  # so a kill reaches the simulator processes the env started
    if resource is not None:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # abort() must not dump GBs
        base = _vm_data_bytes()
        if base is not None:  # Linux: RLIMIT_DATA covers malloc and anonymous mmap
            cap = base + memory_mb * 2**20
            with contextlib.suppress(ValueError, OSError):
                resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))
    with contextlib.suppress(OSError):
        os.dup2(2, 1)  # a print() in user code must not corrupt `--json` on stdout
    if forked and "torch" in sys.modules:
        # GNU OpenMP is not fork-safe: a forked child that runs torch after its parent did
        # hangs in the first parallel region (reproduced); one thread never enters the pool.
        sys.modules["torch"].set_num_threads(1)


def _raised_in(exc: BaseException) -> UserCall:
    """The user call an exception came out of (following its cause chain), else OTHER."""
    seen: BaseException | None = exc
    while seen is not None:
        call: UserCall | None = getattr(seen, _RAISED_IN, None)
        if call is not None:
            return call
        seen = seen.__cause__ or seen.__context__
    return UserCall.OTHER


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:500] if text else type(exc).__name__


def _drain(gen: Generator[Any, Any, Any], hb: Heartbeat) -> Any:
    while True:
        try:
            item = next(gen)
        except StopIteration as stop:
            return stop.value
        hb.emit(item)


def _child_main(conn: Any, handler: Handler, state: Any, memory_mb: int, forked: bool) -> None:
    _isolate(memory_mb, forked)
    hb = Heartbeat(state, conn.send)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        request, kwargs = message
        try:
            result = handler(hb, request, **kwargs)
            if inspect.isgenerator(result):
                result = _drain(result, hb)
            conn.send(("ok", result, None))
        except RlvetInputError as exc:
            conn.send(("input_error", str(exc), None))
        except MemoryError as exc:
            conn.send((FailureKind.OUT_OF_MEMORY, _one_line(exc), _raised_in(exc)))
        except Exception as exc:
            conn.send((FailureKind.RAISED, _one_line(exc), _raised_in(exc)))


# -------------------------------------------------------------------------- parent side


def _describe_exit(code: int | None, killed_by_us: bool) -> tuple[str, str | None]:
    if code is None:
        return "the child process vanished (exit status unknown)", None
    if code >= 0:
        return f"the process exited with code {code}", None
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = f"signal {-code}"
    if name == "SIGKILL" and not killed_by_us:
        return ("the process was killed by SIGKILL (the kernel's out-of-memory killer "
                "sends this)"), name
    return f"the process was killed by {name}", name


class Sandbox:
    """A child process that serves requests to ``handler`` under ``limits``.

    Args:
        handler: what runs in the child (see ``Handler``).
        limits: budgets and memory cap.
        clean: start the child from a fresh interpreter (forkserver, else spawn) instead of
            forking this process. Fork keeps closures and files-defined factories usable
            without pickling; a clean start is safe when this process already runs
            threads (torch's OpenMP pool), but ``handler`` and every argument must pickle.
        preload: modules the forkserver imports once (clean starts only).
    """

    def __init__(self, handler: Handler, *, limits: Limits, clean: bool = False,
                 preload: Sequence[str] = ()) -> None:
        self._handler = handler
        self.limits = limits.resolved()
        self._clean = clean
        self._preload = list(preload)
        self._proc: Any = None
        self._conn: Any = None
        self._state: Any = None
        self._killed = False

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _context(self) -> Any:
        methods = mp.get_all_start_methods()
        if not self._clean:
            return mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
        if "forkserver" in methods:
            ctx = mp.get_context("forkserver")
            if self._preload:
                ctx.set_forkserver_preload(self._preload)
            return ctx
        return mp.get_context("spawn")

    def _start(self) -> None:
        ctx = self._context()
        self._state = ctx.Array("q", 4, lock=False)
        parent, child = ctx.Pipe()
        forked = ctx.get_start_method() == "fork"
        self._proc = ctx.Process(
            target=_child_main,
            args=(child, self._handler, self._state, self.limits.memory_mb, forked),
            daemon=True,
        )
        self._proc.start()
        child.close()
        self._conn = parent
        self._killed = False

    def _kill(self) -> None:
        if self._proc is not None:
            self._killed = True
            if hasattr(os, "killpg"):
                with contextlib.suppress(OSError):
                    os.killpg(self._proc.pid, signal.SIGKILL)  # the child and its children
            with contextlib.suppress(OSError, ValueError):
                self._proc.kill()
            self._proc.join(timeout=5)
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None

    def close(self) -> None:
        """Stop the child politely, or kill it."""
        if self._proc is not None and self._proc.is_alive():
            try:
                self._conn.send(None)
                self._proc.join(timeout=REAP_S)
            except (BrokenPipeError, OSError):
                pass
        self._kill()

    def call(self, request: str, /, *, on_item: Callable[[Any], None] | None = None,
             warm_up: WarmUp | None = None, **kwargs: Any) -> Outcome:
        """Run ``handler(hb, request, **kwargs)`` in the child and wait for it.

        Items the handler streams go to ``on_item`` if given, else to ``Outcome.items``.
        ``warm_up`` gives each freshly built env's first calls a longer budget.
        A failure is returned in ``Outcome.failure``, never raised; after a death, hang or
        out-of-memory the child is gone and the next request starts a fresh one.

        Raises:
            RlvetInputError: the handler raised one (bad input, not bad user code).
        """
        if self._proc is None or not self._proc.is_alive():
            self._kill()
            self._start()
        start_done = self._state[2]
        outcome = Outcome()
        try:
            self._conn.send((request, kwargs))
        except (BrokenPipeError, OSError):
            outcome.failure = self._died(start_done)
            return outcome
        return self._watch(outcome, start_done, on_item, warm_up)

    def _watch(self, outcome: Outcome, start_done: int,
               on_item: Callable[[Any], None] | None, warm_up: WarmUp | None) -> Outcome:
        state = self._state
        last_tick, last_change = state[0], time.monotonic()
        while True:
            if self._conn.poll(POLL_S):
                try:
                    status, payload, call = self._conn.recv()
                except (EOFError, OSError):
                    outcome.failure = self._died(start_done)
                    return outcome
                if status == "item":
                    (on_item or outcome.items.append)(payload)
                    continue
                return self._finish(outcome, status, payload, call, start_done)
            if not self._proc.is_alive():
                outcome.failure = self._died(start_done)
                return outcome
            tick, now = state[0], time.monotonic()
            if tick != last_tick:
                last_tick, last_change = tick, now
                continue
            call = _CALLS[state[1]]
            budget = self.limits.budget(call)
            if warm_up is not None and state[3] < warm_up.calls and call not in SETUP_CALLS:
                budget = max(budget, warm_up.budget_s)
            if now - last_change > budget:
                done = state[2] - start_done
                self._kill()
                outcome.failure = Failure(
                    FailureKind.HUNG, f"no progress for {budget:g} s", call=call,
                    calls_done=done, budget_s=budget, env_calls=int(state[3]))
                return outcome

    def _finish(self, outcome: Outcome, status: str, payload: Any, call: UserCall | None,
                start_done: int) -> Outcome:
        if status == "ok":
            outcome.value = payload
            return outcome
        if status == "input_error":
            raise RlvetInputError(payload)
        kind = FailureKind(status)
        if kind is FailureKind.OUT_OF_MEMORY:
            payload = f"{payload} past the memory cap (+{self.limits.memory_mb} MiB)"
        outcome.failure = Failure(kind, payload, call=call or UserCall.OTHER,
                                  calls_done=self._state[2] - start_done)
        if kind is FailureKind.OUT_OF_MEMORY:
            self._kill()  # whatever the hog still holds goes with the process
        return outcome

    def _died(self, start_done: int) -> Failure:
        call = _CALLS[self._state[1]]
        done = self._state[2] - start_done
        code = None
        if self._proc is not None:
            self._proc.join(timeout=REAP_S)
            code = self._proc.exitcode
        killed = self._killed
        self._kill()
        text, name = _describe_exit(code, killed)
        return Failure(FailureKind.DIED, text, call=call, calls_done=done,
                       exit_code=code, signal=name)
