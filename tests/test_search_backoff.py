"""engine.backoff_along: a failed verification of the refined choice backs off along the path."""
from __future__ import annotations

from host.passes.engine import backoff_along


def _run(path, passing):
    verified = []

    def verify(choice):
        verified.append(choice)
        return choice

    return backoff_along(path, verify, lambda c: c in passing), verified


def test_the_refined_choice_is_kept_when_it_passes() -> None:
    found, verified = _run([[0], [1], [2]], [[0], [1], [2]])
    assert found == [2] and verified == [[2]]


def test_a_failed_refinement_bisects_to_the_last_passing_entry() -> None:
    path = [[k] for k in range(9)]
    found, verified = _run(path, [[k] for k in range(6)])  # entries 0..5 pass, 6..8 fail
    assert found == [5]
    assert verified[:2] == [[8], [0]] and len(verified) <= 2 + 3


def test_none_when_even_the_bisection_choice_fails() -> None:
    found, verified = _run([[0], [1], [2]], [])
    assert found is None and verified == [[2], [0]]
    found, verified = _run([[0]], [])
    assert found is None and verified == [[0]]
