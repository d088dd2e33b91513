"""Usage figures: one figure per outcome family, cancelled and interrupted apart from failed."""

from __future__ import annotations

from core.outcomes import Outcome
from core.stats import OutcomeCount, UsageFigures, fold


def count(outcome: str, jobs: int, images: int = 0, ticks: int | None = None) -> OutcomeCount:
    return OutcomeCount(outcome, jobs=jobs, images=images, cost_usd_ticks=ticks)


def test_each_family_has_its_figure() -> None:
    figures = fold(
        [
            count(Outcome.DELIVERED, 3, images=7, ticks=10),
            count(Outcome.REFUSED, 2),
            count(Outcome.BLOCKED, 1),
            count(Outcome.CANCELLED, 4),
            count(Outcome.INTERRUPTED, 5),
            count(Outcome.SUSPENDED, 1),
            count(Outcome.WAITED_TOO_LONG, 2),
            count(Outcome.API_UNAVAILABLE, 6, ticks=5),
        ]
    )
    assert (figures.images, figures.delivered_jobs, figures.cost_usd_ticks) == (7, 3, 15)
    assert (figures.refused, figures.blocked, figures.failed) == (2, 1, 6)
    assert (figures.cancelled, figures.interrupted) == (4, 6)  # suspended: interrupted
    # Closed in line, too busy to start: neither failed nor cut short by a restart.
    assert figures.waited_too_long == 2


def test_unknown_and_turned_away_outcomes_count_as_failed() -> None:
    figures = fold([count("gone_in_a_newer_version", 1), count(Outcome.QUEUE_FULL, 2)])
    assert (figures.failed, figures.cancelled, figures.interrupted) == (3, 0, 0)


def test_images_count_only_when_delivered() -> None:
    figures = fold([count(Outcome.DELIVERY_FAILED, 1, images=3), count(Outcome.DELIVERED, 1, 2)])
    assert (figures.images, figures.failed, figures.delivered_jobs) == (2, 1, 1)


def test_no_records_no_figures() -> None:
    assert fold([]) == UsageFigures()
    assert fold([]).spend_usd is None
