"""The serving's background polls (`serving/poller.py`: the model repository's versions, the
models.config re-read): a failed poll is logged and the next one still comes; `stop` ends the
polling, waiting for a poll in progress, which sees `stopping` and may return early."""
import logging
import threading
import time

from tfvisrec.serving.poller import Poller

HANG_GUARD = 30.0   # seconds: only so that a broken poller fails the test instead of hanging it


def test_a_failed_poll_is_logged_and_polling_goes_on_until_stopped(caplog):
    calls, third = [], threading.Event()

    def poll():
        calls.append(len(calls))
        if len(calls) == 1:
            raise RuntimeError("the base path vanished")
        if len(calls) == 3:
            third.set()

    poller = Poller(poll, "test-poller", "test poll failed")
    with caplog.at_level(logging.ERROR, logger="tfvisrec.server"):
        poller.start(0.001)
        assert third.wait(HANG_GUARD)
        poller.stop()
    made = len(calls)
    assert made >= 3
    assert caplog.text.count("test poll failed") == 1 and "the base path vanished" in caplog.text, caplog.text
    assert not any(t.name == "test-poller" for t in threading.enumerate())
    assert len(calls) == made     # none after stop


def test_stop_waits_for_the_poll_in_progress_which_sees_stopping():
    inside, seen = threading.Event(), []

    def poll():
        inside.set()
        give_up = time.monotonic() + HANG_GUARD
        while not poller.stopping and time.monotonic() < give_up:
            time.sleep(0.001)
        seen.append(poller.stopping)

    poller = Poller(poll, "test-poller-2", "test poll failed")
    poller.start(0.001)
    assert inside.wait(HANG_GUARD)
    poller.stop()
    assert seen == [True]


def test_stop_before_start_returns():
    Poller(lambda: None, "never-started", "test poll failed").stop()
