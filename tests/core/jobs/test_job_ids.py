"""Job ids: 128 random bits, so that two jobs never share one (and a button never acts on
another job)."""

from __future__ import annotations

import re

from core.jobs.admission import JOB_ID_BITS, new_job_id


def test_a_job_id_is_32_hex_characters() -> None:
    assert JOB_ID_BITS == 128
    for _ in range(100):
        assert re.fullmatch(r"[0-9a-f]{32}", new_job_id())


def test_job_ids_do_not_repeat() -> None:
    ids = {new_job_id() for _ in range(10_000)}
    assert len(ids) == 10_000
