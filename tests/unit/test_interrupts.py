"""interrupts.py: the first Ctrl-C or SIGTERM ends a run where it is, unless it is creating a resource or
tearing down (then it waits for the block's end); later ones never cut the teardown short."""
import os
import signal

import pytest

from orchestrator.base.interrupts import Interrupts


def interrupt(sig=signal.SIGINT) -> None:
    os.kill(os.getpid(), sig)  # delivered to the main thread before os.kill returns to Python code


def test_the_first_interrupt_raises_where_the_run_is():
    with Interrupts() as interrupts:
        with pytest.raises(KeyboardInterrupt):
            interrupt(signal.SIGTERM)
    assert interrupts.raised and interrupts.noted == 1


def test_an_interrupt_while_held_waits_for_the_end_of_the_block():
    done = []
    with Interrupts() as interrupts:
        with pytest.raises(KeyboardInterrupt):
            with interrupts.held():
                interrupt()
                done.append("created")  # the resource's creation was not cut short
    assert done == ["created"]


def test_later_interrupts_never_cut_the_teardown_short():
    torn_down = []
    with Interrupts() as interrupts:
        try:
            interrupt()
        except KeyboardInterrupt:
            interrupt()  # a second Ctrl-C, impatient: noted, not raised
            interrupt(signal.SIGTERM)
            torn_down.append("everything")
    assert torn_down == ["everything"] and interrupts.noted == 3


def test_the_handlers_before_the_run_are_put_back():
    before = signal.getsignal(signal.SIGTERM)
    with Interrupts():
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before


class RaisesInDel:
    """An object whose finalizer is where the signal lands: Python ignores what a __del__ raises."""

    def __del__(self):
        interrupt()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_an_interrupt_swallowed_by_a_finalizer_is_raised_again_at_the_next_safe_point():
    with Interrupts() as interrupts:
        RaisesInDel()  # freed at once: the KeyboardInterrupt is ignored ("Exception ignored in ...")
        assert interrupts.raised  # the handler ran, and yet here we are: it was swallowed
        with pytest.raises(KeyboardInterrupt):
            interrupts.check()  # e.g. before the next step
        interrupts.finishing = True
        interrupts.check()  # tearing down: the interrupt is already being acted on
