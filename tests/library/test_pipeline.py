"""The pipeline's encode slots: longest tracks first, whatever order their downloads finish in."""

from __future__ import annotations

import threading
import time

from tunecrate.library.pipeline import EncodeSlots


def run_encodes(slots: EncodeSlots, arrivals: list[tuple[float, int]], encode_s: float = 0.05,
                drops: dict[int, float] | None = None) -> list[int]:
    """Ranks in the order they got a slot; each ``(delay, rank)`` asks for one after ``delay`` seconds
    (its download time); ``drops`` maps ranks to the time they drop out instead."""
    started: list[int] = []
    lock = threading.Lock()

    def track(delay: float, rank: int) -> None:
        time.sleep(delay)
        with slots.slot(rank):
            with lock:
                started.append(rank)
            time.sleep(encode_s)

    def dropper(delay: float, rank: int) -> None:
        time.sleep(delay)
        slots.drop(rank)

    threads = [threading.Thread(target=track, args=a) for a in arrivals]
    threads += [threading.Thread(target=dropper, args=(d, r)) for r, d in (drops or {}).items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
        assert not t.is_alive(), "a track never got a slot"
    return started


def test_the_first_encodes_go_to_the_longest_tracks_even_if_shorter_ones_are_ready_first():
    # Ranks 2 and 3 (shorter tracks, smaller downloads) are ready before 0 and 1.
    order = run_encodes(EncodeSlots(2, 4), [(0.0, 3), (0.0, 2), (0.1, 1), (0.12, 0)])
    assert sorted(order[:2]) == [0, 1]
    assert order[2:] == [2, 3]  # then the best-ranked waiting track first


def test_a_free_slot_goes_to_the_best_ranked_waiting_track():
    # Rank 0 encodes first; 4, 3 and 1 wait for it, 2 arrives while 1 encodes: best rank first each time.
    order = run_encodes(EncodeSlots(1, 5), [(0.0, 0), (0.01, 4), (0.02, 3), (0.03, 1), (0.15, 2)], encode_s=0.1)
    assert order == [0, 1, 2, 3, 4]


def test_a_track_that_drops_out_holds_nothing_up():
    # Rank 0 is never encoded (present, failed): rank 1 starts once it drops out.
    order = run_encodes(EncodeSlots(1, 3), [(0.0, 2), (0.0, 1)], drops={0: 0.1})
    assert order == [1, 2]


def test_dropping_after_the_slot_is_a_no_op():
    slots = EncodeSlots(1, 2)
    with slots.slot(0):
        pass
    slots.drop(0)
    assert run_encodes(slots, [(0.0, 1)]) == [1]
