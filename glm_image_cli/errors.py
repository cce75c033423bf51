"""Exit codes and the one exception hierarchy for expected failures.

Library modules raise these; the CLI edge (``cli.py``) turns them into a one-line message in the
user's language and the exit code.  Messages are catalogue ids plus parameters, never pre-rendered
text, so the language is chosen in exactly one place.  Parameters never contain the API key.
"""

from __future__ import annotations

from dataclasses import dataclass
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
    IN_USE = 13  # another run is using the batch's output folder
    BUDGET = 14  # the run would cross the daily or monthly budget: nothing was sent
    INTERRUPTED = 130  # Ctrl-C
    OUTPUT_CLOSED = 141  # stdout or stderr was closed (`| head`): what was paid for is kept; like SIGPIPE


@dataclass(frozen=True)
class Meaning:
    """What a failure means for the run and for money, declared once per failure (never derived from wording).

    ``code`` is the stable public name in ``--json`` and HTTP error bodies (README, "Error codes").
    """

    code: str
    sent: bool = False  # the request left this machine (the upstream may have seen it)
    maybe_billed: bool = False  # the upstream may have made (and charged for) the image
    retryable: bool = False  # sending the same request again is safe and may succeed
    account_wide: bool = False  # every remaining image would fail the same way: stop sending
    same_request: bool = False  # the other samples of the same request would fail the same way
    repeats: bool = False  # a sign of a state that outlasts one call (slow or failing upstream): a streak stops


def _refusal(code: str) -> Meaning:
    """The upstream answered no to this request: sent, not billed, the same body would be refused again."""
    return Meaning(code, sent=True, same_request=True)


def _account(code: str) -> Meaning:
    """The key, the account or its balance: no image can be made until the user acts."""
    return Meaning(code, sent=True, account_wide=True)


def _lost(code: str) -> Meaning:
    """The request left and its answer was lost: it may have been billed, so it is never resent blindly.
    Lost answers come in runs (a slow or overloaded upstream): a streak of them stops the run."""
    return Meaning(code, sent=True, maybe_billed=True, repeats=True)


# Every failure a run can report.  Failures of input, settings and output never reach the upstream.
MEANINGS: dict[str, Meaning] = {
    # upstream answers and transport
    "auth_failed": _account("AUTH_FAILED"),
    "account_problem": _account("ACCOUNT_PROBLEM"),
    "balance_exhausted": _account("BALANCE_EXHAUSTED"),
    "daily_quota": _account("DAILY_QUOTA"),
    "content_blocked": _refusal("CONTENT_BLOCKED"),
    "rate_limited": Meaning("RATE_LIMITED", sent=True, retryable=True, repeats=True),
    "concurrency_refused": Meaning("CONCURRENCY_REFUSED", sent=True, retryable=True),
    "unknown_model_upstream": _refusal("UNKNOWN_MODEL_UPSTREAM"),
    "no_permission": _refusal("NO_PERMISSION"),
    "prompt_too_long_upstream": _refusal("PROMPT_TOO_LONG_UPSTREAM"),
    "bad_parameters": _refusal("BAD_PARAMETERS"),
    "upstream_refused": _refusal("UPSTREAM_REFUSED"),
    "watermark_refused": _refusal("WATERMARK_REFUSED"),
    "upstream_error": Meaning("UPSTREAM_ERROR", sent=True, repeats=True),
    "bad_response": Meaning("BAD_RESPONSE", sent=True),
    "async_task_failed": Meaning("ASYNC_TASK_FAILED", sent=True),
    "async_timeout": _lost("ASYNC_TIMEOUT"),
    "download_failed": Meaning("DOWNLOAD_FAILED", sent=True, maybe_billed=True),
    "gateway_maybe_charged": _lost("GATEWAY_MAYBE_CHARGED"),
    "response_lost_maybe_charged": _lost("RESPONSE_LOST_MAYBE_CHARGED"),
    "response_timeout_maybe_charged": _lost("RESPONSE_TIMEOUT_MAYBE_CHARGED"),
    # the same failures after --retry-unsafe sent the request again (each attempt may have been billed)
    "gateway_maybe_charged_retried": _lost("GATEWAY_MAYBE_CHARGED"),
    "response_lost_retried": _lost("RESPONSE_LOST_MAYBE_CHARGED"),
    "response_timeout_retried": _lost("RESPONSE_TIMEOUT_MAYBE_CHARGED"),
    # nothing left this machine, after retries: the host is unreachable for every image
    "network_unreachable": Meaning("NETWORK_UNREACHABLE", retryable=True, account_wide=True),
    # settings
    "missing_api_key": Meaning("MISSING_API_KEY"),
    "config_bad_value": Meaning("CONFIG_BAD_VALUE"),
    "env_bad_value": Meaning("CONFIG_BAD_VALUE"),  # the same failure, naming the environment variable
    "config_file_bad_value": Meaning("CONFIG_FILE_BAD_VALUE"),
    "config_file_invalid": Meaning("CONFIG_FILE_INVALID"),
    "config_unknown_key": Meaning("CONFIG_UNKNOWN_KEY"),
    "config_unreadable": Meaning("CONFIG_UNREADABLE"),
    "config_unwritable": Meaning("CONFIG_UNWRITABLE"),
    "history_unusable": Meaning("HISTORY_UNUSABLE"),
    "ledger_unusable": Meaning("LEDGER_UNUSABLE", account_wide=True),  # spend cannot be recorded: send nothing
    "env_file_unreadable": Meaning("ENV_FILE_UNREADABLE"),
    "budget_exceeded": Meaning("BUDGET_EXCEEDED", account_wide=True),  # before sending: nothing more fits
    "budget_unknown_price": Meaning("BUDGET_UNKNOWN_PRICE", account_wide=True),  # a budget cannot count it
    "value_required_no_tty": Meaning("VALUE_REQUIRED_NO_TTY"),
    "profile_unknown": Meaning("PROFILE_UNKNOWN"),
    # settings checked together, config edit, the key in the system keyring (issue 26)
    "config_unknown_key_typo": Meaning("CONFIG_UNKNOWN_KEY"),  # the same failure, with the setting meant
    "config_profile_bad_value": Meaning("CONFIG_FILE_BAD_VALUE"),  # the same failure, in a [profiles.NAME]
    "config_edit_no_editor": Meaning("CONFIG_EDITOR"),
    "config_edit_not_run": Meaning("CONFIG_EDITOR"),
    "config_edit_editor_failed": Meaning("CONFIG_EDITOR"),
    "config_edit_invalid": Meaning("CONFIG_EDIT_INVALID"),
    "config_edit_changed_meanwhile": Meaning("CONFIG_EDIT_CONFLICT"),
    "keyring_missing": Meaning("KEYRING_MISSING"),
    "keyring_unavailable": Meaning("KEYRING_UNAVAILABLE"),
    "keyring_entry_missing": Meaning("KEYRING_ENTRY_MISSING"),
    "keyring_only_secrets": Meaning("KEYRING_API_KEY_ONLY"),
    "edit_unsupported_profile": Meaning("EDIT_UNSUPPORTED"),  # the same failure, naming the user's profile
    # output
    "output_not_writable": Meaning("OUTPUT_NOT_WRITABLE", account_wide=True),
    "journal_unwritable": Meaning("JOURNAL_UNWRITABLE", account_wide=True),
    "folder_in_use": Meaning("FOLDER_IN_USE"),
    "folder_lock_lost": Meaning("FOLDER_IN_USE", account_wide=True),  # mid-run: send nothing more
    "gallery_not_ours": Meaning("GALLERY_NOT_OURS"),
    # serve
    "port_in_use": Meaning("PORT_IN_USE"),
    "cannot_bind": Meaning("CANNOT_BIND"),
    # input
    "flag_bad_value": Meaning("FLAG_BAD_VALUE"),
    "model_typo": Meaning("UNKNOWN_MODEL"),
    "bad_size_format": Meaning("BAD_SIZE_FORMAT"),
    "invalid_size": Meaning("INVALID_SIZE"),
    "batch_bad_name": Meaning("BATCH_BAD_NAME"),
    "batch_empty": Meaning("BATCH_EMPTY"),
    "batch_field_type": Meaning("BATCH_FIELD_TYPE"),
    "batch_field_number": Meaning("BATCH_FIELD_TYPE"),  # the same failure: a field of the wrong kind
    "batch_file_missing": Meaning("BATCH_FILE_MISSING"),
    "batch_invalid": Meaning("BATCH_INVALID"),
    "batch_max_images": Meaning("BATCH_MAX_IMAGES"),
    "batch_missing_prompt": Meaning("BATCH_MISSING_PROMPT"),
    "batch_empty_prompt": Meaning("EMPTY_PROMPT"),  # the field is there, with no text in it
    # prompt files and standard input in another encoding (core/textinput.py)
    "encoding_unknown": Meaning("FLAG_BAD_VALUE"),
    "encoding_needs_stdin": Meaning("FLAG_BAD_VALUE"),
    "batch_looks_gb18030": Meaning("BATCH_UNREADABLE"),
    "batch_not_utf8": Meaning("BATCH_UNREADABLE"),
    "batch_not_in_encoding": Meaning("BATCH_UNREADABLE"),
    "stdin_looks_gb18030": Meaning("STDIN_UNREADABLE"),
    "stdin_not_utf8": Meaning("STDIN_UNREADABLE"),
    "stdin_not_in_encoding": Meaning("STDIN_UNREADABLE"),
    "batch_unreadable": Meaning("BATCH_UNREADABLE"),
    "empty_prompt": Meaning("EMPTY_PROMPT"),
    "format_needs_pillow": Meaning("FORMAT_NEEDS_PILLOW"),
    "preview_needs_pillow": Meaning("PREVIEW_NEEDS_PILLOW"),
    "show_not_found": Meaning("SHOW_NOT_FOUND"),
    "show_no_images": Meaning("SHOW_NO_IMAGES"),
    "format_unknown": Meaning("FORMAT_UNKNOWN"),
    "gallery_no_folder": Meaning("GALLERY_NO_FOLDER"),
    "history_bad_since": Meaning("HISTORY_BAD_SINCE"),
    "history_clear_needs_yes": Meaning("HISTORY_CLEAR_NEEDS_YES"),
    "history_no_prompt": Meaning("HISTORY_NO_PROMPT"),
    "again_edit_sources": Meaning("AGAIN_EDIT_SOURCES"),
    "history_not_found": Meaning("HISTORY_NOT_FOUND"),
    "mcp_missing": Meaning("MCP_MISSING"),
    "mcp_spend_needs_consent": Meaning("MCP_SPEND_NEEDS_CONSENT"),
    "mcp_unknown_job": Meaning("MCP_UNKNOWN_JOB"),
    "mcp_job_busy": Meaning("MCP_JOB_BUSY"),
    "name_template_escape": Meaning("NAME_TEMPLATE_ESCAPE"),
    "name_template_syntax": Meaning("NAME_TEMPLATE_SYNTAX"),
    "name_template_token": Meaning("NAME_TEMPLATE_TOKEN"),
    "name_template_width": Meaning("NAME_TEMPLATE_SYNTAX"),  # the same failure: a spec too wide to render
    "prompt_too_long": Meaning("PROMPT_TOO_LONG"),
    "quality_not_supported": Meaning("QUALITY_NOT_SUPPORTED"),
    "samples_range": Meaning("SAMPLES_RANGE"),
    "serve_bad_option": Meaning("SERVE_BAD_OPTION"),
    "serve_needs_token": Meaning("SERVE_NEEDS_TOKEN"),
    "size_conflict": Meaning("SIZE_CONFLICT"),
    "spend_needs_yes": Meaning("SPEND_NEEDS_YES"),
    "spend_declined": Meaning("SPEND_DECLINED"),
    "spend_needs_consent": Meaning("SPEND_NEEDS_YES"),  # the library's wording of the same refusal
    "api_bad_argument": Meaning("BAD_ARGUMENT"),
    "review_needs_terminal": Meaning("REVIEW_NEEDS_TERMINAL"),
    "stdin_unreadable": Meaning("STDIN_UNREADABLE"),
    "chat_bad_value": Meaning("CHAT_COMMAND"),  # glm-image chat: a slash command that cannot be done
    "chat_unknown_command": Meaning("CHAT_COMMAND"),
    "chat_no_prompt": Meaning("CHAT_COMMAND"),
    "chat_no_image": Meaning("CHAT_COMMAND"),
    "unknown_style": Meaning("UNKNOWN_STYLE"),
    "unknown_style_no_match": Meaning("UNKNOWN_STYLE"),  # the same failure, worded without suggestions
    "width_height_pair": Meaning("WIDTH_HEIGHT_PAIR"),
    "name_too_long": Meaning("NAME_TOO_LONG"),
    "invalid_text": Meaning("INVALID_TEXT"),
    "control_character": Meaning("INVALID_TEXT"),  # the same failure: text that cannot be sent as it is
    "edit_unsupported": Meaning("EDIT_UNSUPPORTED"),
    "edit_image_unreadable": Meaning("EDIT_IMAGE_UNREADABLE"),
    "path_too_long": Meaning("PATH_TOO_LONG"),
    # compare: axes, cells and size, refused before anything is sent
    **{message_id: Meaning("COMPARE_AXIS") for message_id in (
        "compare_axis_empty", "compare_axis_enhance", "compare_axis_duplicate", "compare_axis_long",
        "compare_prompt_sr_short", "compare_prompt_sr_missing", "compare_no_axes", "compare_too_many_axes",
        "compare_axis_unknown")},
    "compare_empty_prompt": Meaning("EMPTY_PROMPT"),
    "compare_too_many": Meaning("COMPARE_TOO_MANY"),
    "compare_invalid": Meaning("COMPARE_INVALID"),
    "compare_invalid_cell": Meaning("COMPARE_INVALID"),
    # generate -o -: the image's bytes on stdout (refused before anything is sent)
    "stdout_is_terminal": Meaning("STDOUT_IS_TERMINAL"),
    "stdout_one_image": Meaning("STDOUT_ONE_IMAGE"),
    "stdout_folder_only": Meaning("STDOUT_FOLDER_ONLY"),
    "stdout_not_json": Meaning("STDOUT_NOT_JSON"),
    # prompt templates, alternatives and wildcards
    "expand_bad_mode": Meaning("EXPAND_BAD_MODE"),
    "expand_nested": Meaning("EXPAND_SYNTAX"),
    "expand_unclosed": Meaning("EXPAND_SYNTAX"),
    "expand_too_many": Meaning("EXPAND_TOO_MANY"),
    "expand_seed_without_random": Meaning("EXPAND_BAD_MODE"),
    "wildcard_missing": Meaning("WILDCARD_MISSING"),
    "wildcard_unreadable": Meaning("WILDCARD_UNREADABLE"),
    "wildcard_empty": Meaning("WILDCARD_UNREADABLE"),
    "template_not_found": Meaning("TEMPLATE_NOT_FOUND"),
    "template_bad_name": Meaning("TEMPLATE_BAD_NAME"),
    "template_missing_variable": Meaning("TEMPLATE_VARIABLE"),
    "template_unknown_variable": Meaning("TEMPLATE_VARIABLE"),
    "template_bad_assignment": Meaning("TEMPLATE_VARIABLE"),
    "template_bad_default": Meaning("TEMPLATE_BAD_DEFAULT"),
    "template_and_prompt": Meaning("TEMPLATE_VARIABLE"),
    "template_variables_without_template": Meaning("TEMPLATE_VARIABLE"),
    "template_invalid": Meaning("TEMPLATE_INVALID"),
    "template_unwritable": Meaning("TEMPLATE_UNWRITABLE"),
    "template_edit_invalid": Meaning("TEMPLATE_INVALID"),
    "template_no_editor": Meaning("TEMPLATE_NO_EDITOR"),
    # batch --via batch-api (core/batchapi.py)
    "batchapi_refused": _refusal("BATCH_API_REFUSED"),
    "batchapi_create_lost": _lost("BATCH_CREATE_LOST"),
    "batchapi_unresolved": Meaning("BATCH_UNRESOLVED", sent=True),
    "batchapi_backend": Meaning("BATCH_API_BACKEND"),
    "batchapi_no_check": Meaning("BATCH_API_NO_CHECK"),
    "batchapi_bad_id": Meaning("BATCH_API_BAD_ID"),
    "batchapi_active": Meaning("BATCH_API_ACTIVE"),
    "batchapi_no_folder": Meaning("BATCH_NO_FOLDER"),
    "batchapi_extra_folder": Meaning("BATCH_EXTRA_ARGUMENT"),
    "batchapi_expired": Meaning("BATCH_EXPIRED", sent=True),
    "batchapi_cancelled": Meaning("BATCH_CANCELLED", sent=True),
    "batchapi_failed": Meaning("BATCH_FAILED", sent=True),
    "batchapi_no_result": Meaning("BATCH_NO_RESULT", sent=True, maybe_billed=True),
    # vision checks (issue 28): usage errors before anything is sent
    "best_of_range": Meaning("BEST_OF_RANGE"),
    "caption_bad_lang": Meaning("CAPTION_LANG"),
    "check_no_file": Meaning("CHECK_NO_FILE"),
    "check_nothing": Meaning("CHECK_NOTHING"),
}
UNDECLARED = Meaning("INTERNAL")


class GlmImageError(Exception):
    """An expected failure: catalogue message id, its parameters, an exit code and its declared meaning.

    The message id chooses the wording; the meaning (public ``code``, sent, maybe billed, retryable,
    account-wide) is looked up in ``MEANINGS``, so rewording a message never changes the machine interface.
    """

    exit_code: ClassVar[ExitCode] = ExitCode.FAILURE

    def __init__(self, message_id: str, /, **params: Any) -> None:
        super().__init__(message_id)
        self.message_id = message_id
        self.params = params
        self.meaning = MEANINGS.get(message_id, UNDECLARED)

    @property
    def code(self) -> str:
        return self.meaning.code

    @property
    def sent(self) -> bool:
        return self.meaning.sent

    @property
    def maybe_billed(self) -> bool:
        return self.meaning.maybe_billed

    @property
    def retryable(self) -> bool:
        return self.meaning.retryable

    @property
    def account_wide(self) -> bool:
        return self.meaning.account_wide

    @property
    def same_request(self) -> bool:
        return self.meaning.same_request or self.meaning.account_wide

    def __str__(self) -> str:
        from glm_image_cli.messages import render

        return render(self.message_id, **self.params)


class UsageError(GlmImageError):
    exit_code = ExitCode.USAGE


class ConfigError(GlmImageError):
    exit_code = ExitCode.CONFIG


class OutputError(GlmImageError):
    exit_code = ExitCode.OUTPUT


class FolderInUse(GlmImageError):
    exit_code = ExitCode.IN_USE


class SpendDeclined(GlmImageError):
    """The user said no to the estimated cost: nothing was sent."""

    exit_code = ExitCode.INTERRUPTED


class BudgetExceeded(GlmImageError):
    """The run's estimated cost would cross the daily or monthly budget: refused before sending."""

    exit_code = ExitCode.BUDGET


class ServerError(GlmImageError):
    exit_code = ExitCode.SERVER


BIGMODEL = "BigModel"  # {service} in the messages of failures from (or on the way to) the upstream


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
        params.setdefault("service", BIGMODEL)  # the openai backend's client names "the image server" instead
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


class ConcurrencyRefused(RateLimited):
    """429/1302 without Retry-After: too many calls in flight for the account right now.  Not billed; the
    runner lowers its ceiling and sends the image again."""


class NetworkFailure(UpstreamFailure):
    exit_code = ExitCode.NETWORK
