"""Per-key locks: the same key serialises, other keys never wait, and nothing is kept."""

from __future__ import annotations

import threading

from fraudrings.api.locks import KeyedLocks


def test_a_held_key_blocks_only_its_own_key() -> None:
    locks = KeyedLocks()
    entered = threading.Event()

    def hold_others() -> None:  # a thousand other ids: stripes would put some on A-1's
        for k in range(1000):
            with locks.hold(f"B-{k}"):
                pass

    def hold_same() -> None:
        with locks.hold("A-1"):
            entered.set()

    with locks.hold("A-1"):
        others = threading.Thread(target=hold_others)
        others.start()
        others.join(timeout=10)
        assert not others.is_alive()
        same = threading.Thread(target=hold_same)
        same.start()
        assert not entered.wait(timeout=0.3)  # the same id waits for its holder
        assert len(locks) == 1
    assert entered.wait(timeout=10)
    same.join(timeout=10)
    assert len(locks) == 0


def test_no_lock_outlives_its_holders() -> None:
    locks = KeyedLocks()
    for k in range(100):
        with locks.hold(f"K-{k}"):
            assert len(locks) == 1
    assert len(locks) == 0
