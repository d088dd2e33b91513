"""Discord's REST errors: status, JSON error code, message and form errors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tests.fakes.discord.constants import Json


class ApiError(Exception):
    """An error answer: HTTP status, Discord's code and message, and any form errors."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        errors: Json | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors
        self.headers = dict(headers or {})

    def body(self) -> Json:
        """The JSON body Discord sends with the error."""
        out: Json = {"message": self.message, "code": self.code}
        if self.errors is not None:
            out["errors"] = self.errors
        return out


def form_error(path: Sequence[str | int], code: str, message: str) -> ApiError:
    """400, code 50035: ``code`` and ``message`` for the field at ``path``."""
    errors: Json = {"_errors": [{"code": code, "message": message}]}
    for key in reversed(path):
        errors = {str(key): errors}
    return ApiError(400, 50035, "Invalid Form Body", errors)


def unknown(what: str, code: int) -> ApiError:
    """404: "Unknown <what>" with its code."""
    return ApiError(404, code, f"Unknown {what}")


def too_large() -> ApiError:
    """413, code 40005: a file or the whole request is over the limit."""
    return ApiError(413, 40005, "Request entity too large")
