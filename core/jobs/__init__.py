"""The job service: one Discord-free pipeline every kind of job runs on.

:mod:`core.jobs.service` takes a job from admission to close; :mod:`core.jobs.port` is all
it asks of the chat platform; :mod:`core.jobs.kinds` is what a kind of job plugs in;
:mod:`core.jobs.deliver` posts a result; :mod:`core.jobs.job` holds a job and its log line.
"""

from __future__ import annotations

from core.jobs.edits import EDIT_KIND, EditKind
from core.jobs.job import Job, JobReport
from core.jobs.kinds import DEFAULT_KIND, GenerationKind, JobKind, JobRequest
from core.jobs.port import (
    JobPort,
    JobSummary,
    MemberPaused,
    ModLogEntry,
    Notice,
    Origin,
    OutgoingFile,
    OutOfCredits,
    PortFactory,
    ResultCard,
    SpendCeilingReached,
    Stage,
    Status,
    UploadRefused,
    UploadTooLarge,
)
from core.jobs.service import CancelAnswer, JobService, ServiceConfig

__all__ = [
    "DEFAULT_KIND",
    "EDIT_KIND",
    "CancelAnswer",
    "EditKind",
    "GenerationKind",
    "Job",
    "JobKind",
    "JobPort",
    "JobReport",
    "JobRequest",
    "JobService",
    "JobSummary",
    "MemberPaused",
    "ModLogEntry",
    "Notice",
    "Origin",
    "OutOfCredits",
    "OutgoingFile",
    "PortFactory",
    "ResultCard",
    "ServiceConfig",
    "SpendCeilingReached",
    "Stage",
    "Status",
    "UploadRefused",
    "UploadTooLarge",
]
