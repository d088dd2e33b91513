"""Resume decisions for journaled jobs, as pure functions."""

from __future__ import annotations

import pytest

from core import journal
from core.journal import InteractionRef, ResumeAction, resume_action

NOW = 1_700_000_000.0


def ref(expires_in: float) -> InteractionRef:
    return InteractionRef(1, 2, "secret-token", NOW + expires_in)


@pytest.mark.parametrize("state", [journal.ACCEPTED, journal.QUEUED, journal.RUNNING])
def test_a_job_with_a_live_token_is_resumed(state: str) -> None:
    action = resume_action(state=state, created_at=NOW - 30, interaction=ref(600), now=NOW)
    assert action is ResumeAction.RESUME


def test_a_token_about_to_expire_is_not_resumed_but_told() -> None:
    almost = ref(journal.RESUME_MARGIN_SECONDS - 1)
    action = resume_action(state=journal.QUEUED, created_at=NOW - 800, interaction=almost, now=NOW)
    assert action is ResumeAction.NOTIFY


def test_an_expired_token_or_none_gets_a_message() -> None:
    for interaction in (ref(-1), None):
        action = resume_action(
            state=journal.RUNNING, created_at=NOW - 1000, interaction=interaction, now=NOW
        )
        assert action is ResumeAction.NOTIFY


def test_a_job_cut_short_while_uploading_is_closed_not_made_again() -> None:
    action = resume_action(
        state=journal.DELIVERING, created_at=NOW - 30, interaction=ref(600), now=NOW
    )
    assert action is ResumeAction.NOTIFY


def test_old_jobs_are_closed_quietly_and_done_ones_left_alone() -> None:
    old = NOW - journal.NOTICE_WINDOW_SECONDS - 1
    assert (
        resume_action(state=journal.RUNNING, created_at=old, interaction=None, now=NOW)
        is ResumeAction.DROP
    )
    assert (
        resume_action(state=journal.DONE, created_at=NOW, interaction=ref(600), now=NOW)
        is ResumeAction.DROP
    )


def test_the_token_never_shows_in_a_repr() -> None:
    assert "secret-token" not in repr(ref(10))
    assert ref(10).valid_for(NOW) == pytest.approx(10)


def test_owner_ids_differ() -> None:
    assert journal.new_owner_id() != journal.new_owner_id()
