"""The one retry policy of tunecrate (built on tenacity).

Every call to a service that may fail for a while (a Spotify request, a
provider's search, a download) is retried by :func:`retry_call`, and by
nothing else: no library below it retries on its own, so attempts do not
multiply. The rules:

- only a :class:`~tunecrate.core.errors.TunecrateError` whose ``transient``
  is True is retried: network failures, timeouts, HTTP 408, 429 and 5xx.
  Every other 4xx, a malformed reference, a missing file fail at once;
- a wait the service asked for (``retry_after``, from a ``Retry-After``
  header) is honoured; otherwise waits grow exponentially from ``backoff_s``
  (0.5 s, 1 s, 2 s…), each capped at ``max_wait_s``;
- at most ``attempts`` calls in all, and the waits together never exceed
  ``max_total_wait_s``: a wait that would pass that bound is not started,
  and the last error is raised instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from tunecrate.core.errors import TunecrateError

__all__ = ["retry_call"]

T = TypeVar("T")


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, TunecrateError) and exc.transient


def retry_call(
    call: Callable[[], T],
    *,
    attempts: int,
    backoff_s: float = 0.5,
    max_wait_s: float = 30.0,
    max_total_wait_s: float = 120.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``call()`` under the policy of the module docstring; return what it returns.

    Raises the last error when it is not transient, the attempts are used up,
    or the next wait would pass ``max_total_wait_s``.
    """
    from tenacity import RetryCallState, Retrying, retry_if_exception

    waited = [0.0]

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        asked = getattr(exc, "retry_after", None)
        if isinstance(asked, (int, float)) and asked >= 0:
            return float(asked)
        return min(max_wait_s, backoff_s * 2 ** (state.attempt_number - 1))

    def stop(state: RetryCallState) -> bool:
        if state.attempt_number >= max(1, attempts):
            return True
        return waited[0] + wait(state) > max_total_wait_s

    def before_sleep(state: RetryCallState) -> None:
        waited[0] += state.next_action.sleep if state.next_action else 0.0

    retrying = Retrying(retry=retry_if_exception(_transient), stop=stop, wait=wait, sleep=sleep,
                        before_sleep=before_sleep, reraise=True)
    return retrying(call)
