"""Exit codes and the one exception hierarchy for expected failures.

Library modules raise these; the CLI edge (``cli.py``) turns them into a one-line message in the
user's language and the exit code.  Messages are catalogue ids plus parameters, never pre-rendered
text, so the language is chosen in exactly one place.  Parameters never contain the API key.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, ClassVar


class ExitCode(IntEnum):
    """Documented process exit codes (README, "Exit codes")."""

    OK = 0
    FAILURE = 1  # unexpected internal error: a bug
    USAGE = 2  # bad arguments: size, style, prompt, n, flags
    CONFIG = 3  # no key, unreadable or invalid config file
    AUTH = 4  # the key or the account was rejected
    REFUSED = 5  # the upstream refused the parameters or the model
    CONTENT_BLOCKED = 6  # the upstream refused the prompt or image on content-safety grounds
    QUOTA = 7  # balance exhausted or daily quota reached: pay or wait
    RATE_LIMITED = 8  # still rate limited / overloaded after retries
    NETWORK = 9  # unreachable, timed out, response lost (may have been billed)
    UPSTREAM = 10  # the upstream failed: 5xx, malformed answer, async task failed
    OUTPUT = 11  # images could not be written
    SERVER = 12  # `serve` could not start: port in use, address not allowed
    INTERRUPTED = 130  # Ctrl-C


class GlmImageError(Exception):
    """An expected failure: catalogue message id, its parameters and an exit code.

    ``code`` is the stable machine-readable name used in ``--json`` output (the message id upper-cased).
    """

    exit_code: ClassVar[ExitCode] = ExitCode.FAILURE

    def __init__(self, message_id: str, /, **params: Any) -> None:
        super().__init__(message_id)
        self.message_id = message_id
        self.params = params

    @property
    def code(self) -> str:
        return _CODE_OF_VARIANT.get(self.message_id, self.message_id).upper()

    def __str__(self) -> str:
        from glm_image_cli.messages import render

        return render(self.message_id, **self.params)


# Message variants that report the same failure keep one stable machine code.
_CODE_OF_VARIANT = {"unknown_style_no_match": "unknown_style"}


class UsageError(GlmImageError):
    exit_code = ExitCode.USAGE


class ConfigError(GlmImageError):
    exit_code = ExitCode.CONFIG


class OutputError(GlmImageError):
    exit_code = ExitCode.OUTPUT


class ServerError(GlmImageError):
    exit_code = ExitCode.SERVER


class UpstreamFailure(GlmImageError):
    """A failure that came from (or on the way to) the upstream API; carries what it said."""

    exit_code = ExitCode.UPSTREAM

    def __init__(
        self,
        message_id: str,
        /,
        *,
        status: int | None = None,
        upstream_code: str | None = None,
        upstream_message: str | None = None,
        request_id: str | None = None,
        **params: Any,
    ) -> None:
        detail = params.pop("detail", None) or _describe(status, upstream_code, upstream_message)
        super().__init__(message_id, detail=detail, request_id=request_id or "?", **params)
        self.status = status
        self.upstream_code = upstream_code
        self.upstream_message = upstream_message
        self.request_id = request_id


def _describe(status: int | None, code: str | None, message: str | None) -> str:
    parts = [str(p) for p in (status, code) if p]
    text = "/".join(parts)
    if message:
        text = f"{text}: {message}" if text else message
    return text or "?"


class AuthFailure(UpstreamFailure):
    exit_code = ExitCode.AUTH


class RefusedFailure(UpstreamFailure):
    exit_code = ExitCode.REFUSED


class ContentBlocked(UpstreamFailure):
    exit_code = ExitCode.CONTENT_BLOCKED


class QuotaFailure(UpstreamFailure):
    exit_code = ExitCode.QUOTA


class RateLimited(UpstreamFailure):
    exit_code = ExitCode.RATE_LIMITED


class NetworkFailure(UpstreamFailure):
    exit_code = ExitCode.NETWORK
