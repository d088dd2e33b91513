"""A job's buttons act only where the job put them."""

from __future__ import annotations

import pytest

from core.job_buttons import Action, JobPlace, PressPlace, pressed_on_job

GUILD = 1
OTHER_GUILD = 2
RESULT = 100
SECOND_RESULT = 101
ELSEWHERE = 999
INTERACTION = 50

FINISHED = JobPlace(guild_id=GUILD, message_ids=(RESULT, SECOND_RESULT), interaction_id=None)
RUNNING = JobPlace(guild_id=GUILD, message_ids=(), interaction_id=INTERACTION)


def press(
    message_id: int | None, *, guild_id: int | None = GUILD, answers: int | None = None
) -> PressPlace:
    return PressPlace(guild_id=guild_id, message_id=message_id, message_interaction_id=answers)


@pytest.mark.parametrize("action", [Action.REROLL, Action.DELETE])
def test_result_buttons_act_on_the_jobs_result_messages(action: Action) -> None:
    assert pressed_on_job(action, FINISHED, press(RESULT))
    assert pressed_on_job(action, FINISHED, press(SECOND_RESULT))
    assert not pressed_on_job(action, FINISHED, press(ELSEWHERE))
    assert not pressed_on_job(action, FINISHED, press(None))


@pytest.mark.parametrize("action", list(Action))
def test_another_server_is_refused(action: Action) -> None:
    job = JobPlace(GUILD, (RESULT,), INTERACTION)
    assert not pressed_on_job(action, job, press(RESULT, guild_id=OTHER_GUILD, answers=INTERACTION))
    assert not pressed_on_job(action, job, press(RESULT, guild_id=None, answers=INTERACTION))


def test_a_direct_message_job_is_pressed_in_direct_messages() -> None:
    job = JobPlace(None, (RESULT,), None)
    assert pressed_on_job(Action.REROLL, job, press(RESULT, guild_id=None))
    assert not pressed_on_job(Action.REROLL, job, press(RESULT, guild_id=GUILD))


@pytest.mark.parametrize("action", [Action.REROLL, Action.DELETE])
def test_an_unfinished_jobs_results_are_known_by_their_interaction(action: Action) -> None:
    assert pressed_on_job(action, RUNNING, press(RESULT, answers=INTERACTION))
    assert not pressed_on_job(action, RUNNING, press(RESULT, answers=INTERACTION + 1))
    assert not pressed_on_job(action, RUNNING, press(RESULT))
    # Once finished, the token and interaction are forgotten: only the recorded ids count.
    assert not pressed_on_job(action, FINISHED, press(ELSEWHERE, answers=INTERACTION))


def test_cancel_acts_only_on_the_status_message() -> None:
    assert pressed_on_job(Action.CANCEL, RUNNING, press(RESULT, answers=INTERACTION))
    assert not pressed_on_job(Action.CANCEL, RUNNING, press(RESULT, answers=INTERACTION + 1))
    assert not pressed_on_job(Action.CANCEL, RUNNING, press(RESULT))
    assert not pressed_on_job(Action.CANCEL, FINISHED, press(RESULT))
