"""The sign-in throttle: per email and per client address, in a sliding window, with the wait it reports."""

from __future__ import annotations

from byokgate.dashboard.sessions import Throttle


def test_an_email_locks_after_its_failures_until_the_oldest_leaves_the_window() -> None:
    throttle = Throttle(failures=3, window_s=100)
    for at in (0, 10, 20):
        assert throttle.wait_s("a@x", "1.1.1.1", now=at) == 0
        throttle.failed("a@x", "1.1.1.1", now=at)
    assert throttle.wait_s("a@x", "1.1.1.1", now=30) == 70  # until the failure at 0 is 100 s old
    assert throttle.wait_s("a@x", "2.2.2.2", now=30) == 70  # the email is locked from anywhere
    assert throttle.wait_s("b@x", "1.1.1.1", now=30) == 0  # another email is not
    assert throttle.wait_s("a@x", "1.1.1.1", now=100) == 0  # the window has moved on


def test_one_address_trying_many_emails_locks_too() -> None:
    throttle = Throttle(failures=2, window_s=60)
    for n in range(8):  # 4x the per-email limit, each email below its own limit
        throttle.failed(f"user{n}@x", "9.9.9.9", now=n)
    assert throttle.wait_s("someone-else@x", "9.9.9.9", now=8) == 52
    assert throttle.wait_s("someone-else@x", "8.8.8.8", now=8) == 0


def test_a_success_clears_the_emails_failures() -> None:
    throttle = Throttle(failures=2, window_s=60)
    throttle.failed("a@x", "1.1.1.1", now=0)
    throttle.succeeded("a@x")
    throttle.failed("a@x", "1.1.1.1", now=1)
    assert throttle.wait_s("a@x", "1.1.1.1", now=2) == 0
