"""The one retry policy (tunecrate.core.retry), run with a fake sleep that records the waits."""

from __future__ import annotations

import pytest

from tunecrate.core.errors import (
    DownloadError, InvalidReference, NotFound, RateLimited, ServiceError, ServiceUnavailable,
)
from tunecrate.core.retry import retry_call


class Flaky:
    """Raises the given errors one call at a time, then returns ``"ok"``."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


@pytest.fixture
def sleeps() -> list[float]:
    return []


def run(call, sleeps, **policy):
    return retry_call(call, sleep=sleeps.append, **{"attempts": 5, **policy})


def test_a_transient_error_is_retried_with_growing_waits(sleeps):
    call = Flaky(ServiceUnavailable("503"), ServiceUnavailable("timed out"), ServiceUnavailable("503"))
    assert run(call, sleeps, backoff_s=0.5) == "ok"
    assert call.calls == 4
    assert sleeps == [0.5, 1.0, 2.0]


def test_retry_after_is_honoured(sleeps):
    call = Flaky(RateLimited("429", retry_after=7.0), RateLimited("429", retry_after=0))
    assert run(call, sleeps, backoff_s=0.5) == "ok"
    assert sleeps == [7.0, 0.0]


def test_a_429_without_retry_after_backs_off(sleeps):
    call = Flaky(RateLimited("429"))
    assert run(call, sleeps, backoff_s=0.25) == "ok"
    assert sleeps == [0.25]


@pytest.mark.parametrize("error", [
    NotFound("404"), ServiceError("400 bad request", status=400), InvalidReference("bad URL"),
    RateLimited("429: wait 3 hours", retry_after=10_800, transient=False), DownloadError("unavailable"),
    ValueError("not ours"),
])
def test_a_non_transient_error_is_raised_at_once(error, sleeps):
    call = Flaky(error)
    with pytest.raises(type(error)) as caught:
        run(call, sleeps)
    assert caught.value is error
    assert call.calls == 1 and sleeps == []


def test_a_transient_download_error_is_retried(sleeps):
    call = Flaky(DownloadError("connection reset", transient=True))
    assert run(call, sleeps, backoff_s=0.1) == "ok"
    assert call.calls == 2


def test_attempts_bound_the_calls_and_the_last_error_is_raised(sleeps):
    errors = [ServiceUnavailable(f"503 #{i}") for i in range(10)]
    call = Flaky(*errors)
    with pytest.raises(ServiceUnavailable) as caught:
        run(call, sleeps, attempts=3, backoff_s=0.1)
    assert call.calls == 3 and len(sleeps) == 2
    assert caught.value is errors[2]


def test_one_attempt_means_no_retry(sleeps):
    call = Flaky(ServiceUnavailable("503"))
    with pytest.raises(ServiceUnavailable):
        run(call, sleeps, attempts=1)
    assert call.calls == 1 and sleeps == []


def test_each_wait_is_capped(sleeps):
    call = Flaky(*[ServiceUnavailable("503") for _ in range(5)])
    assert run(call, sleeps, attempts=6, backoff_s=1.0, max_wait_s=3.0, max_total_wait_s=100) == "ok"
    assert sleeps == [1.0, 2.0, 3.0, 3.0, 3.0]


def test_a_wait_that_would_pass_the_total_bound_is_not_started(sleeps):
    first, second = RateLimited("429", retry_after=4.0), RateLimited("429", retry_after=4.0)
    call = Flaky(first, second)
    with pytest.raises(RateLimited) as caught:
        run(call, sleeps, max_total_wait_s=6.0)
    assert sleeps == [4.0]  # 4 + 4 > 6: the second wait is not slept
    assert caught.value is second and call.calls == 2


def test_the_total_wait_never_exceeds_its_bound(sleeps):
    call = Flaky(*[ServiceUnavailable("503") for _ in range(50)])
    with pytest.raises(ServiceUnavailable):
        run(call, sleeps, attempts=50, backoff_s=1.0, max_wait_s=8.0, max_total_wait_s=20.0)
    assert sum(sleeps) <= 20.0
    assert sleeps == [1.0, 2.0, 4.0, 8.0]  # the next wait, 8 s, would pass 20 s
