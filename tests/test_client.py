"""The HTTP client's money rules, straight against the fake upstream (no CLI in between)."""

from __future__ import annotations

import pytest

from glm_image_cli.backends.bigmodel import BigModelClient, ImageRequest, ImageResult, RetryPolicy, parse_retry_after
from glm_image_cli.errors import NetworkFailure, RateLimited, UpstreamFailure
from tests.fake_bigmodel import DEFAULT_KEY, POLL_ROUTE, SYNC_ROUTE, FakeBigModel, Reply


def make_client(fake: FakeBigModel, **options) -> BigModelClient:
    return BigModelClient(DEFAULT_KEY, fake.base_url, **options)


def make_image(client: BigModelClient, request: ImageRequest) -> ImageResult:
    """The paid request, then the image's bytes: what the runner does for each image."""
    return client.fetch(client.request_image(request))


def test_read_timeout_after_sending_is_not_retried(fake) -> None:
    fake.script(SYNC_ROUTE, Reply(delay=30))  # released at teardown
    with make_client(fake, timeout=0.3) as client, pytest.raises(NetworkFailure) as caught:
        make_image(client, ImageRequest("cogview-4", "x"))
    assert caught.value.message_id == "response_timeout_maybe_charged"
    assert fake.count(SYNC_ROUTE) == 1


def test_read_timeout_is_retried_only_when_asked(fake) -> None:
    fake.script(SYNC_ROUTE, Reply(delay=30))
    with make_client(fake, timeout=0.3, retry_unsafe=True) as client:
        result = make_image(client, ImageRequest("cogview-4", "x"))
    assert result.format == "png"
    assert fake.count(SYNC_ROUTE) == 2


def test_polling_survives_a_lost_poll_answer(fake) -> None:
    fake.script(POLL_ROUTE, Reply(drop=True))
    with make_client(fake) as client:
        result = make_image(client, ImageRequest("glm-image", "水墨"))
    assert result.task_id == "task-1" and result.request_id == "req-task-1"


def test_async_wait_is_bounded(fake) -> None:
    from glm_image_cli.backends.bigmodel import PollingPolicy

    fake.polls_before_success = 10**6
    sleeps: list[float] = []
    with make_client(fake, polling=PollingPolicy(0.0, 0.0, 0.0), sleep=sleeps.append) as client, \
            pytest.raises(UpstreamFailure) as caught:
        make_image(client, ImageRequest("glm-image", "水墨"))
    assert caught.value.message_id == "async_timeout"


def test_should_retry_false_header_is_obeyed(fake) -> None:
    reply = Reply.error(429, "1302", "busy", retry_after="0")
    reply.headers["x-should-retry"] = "false"
    fake.script(SYNC_ROUTE, reply)
    with make_client(fake) as client, pytest.raises(RateLimited):
        make_image(client, ImageRequest("cogview-4", "x"))
    assert fake.count(SYNC_ROUTE) == 1


def test_retry_after_is_honoured_and_capped(fake) -> None:
    fake.script(SYNC_ROUTE, Reply.error(429, "1303", "too frequent", retry_after="7"),
                Reply.error(429, "1303", "too frequent", retry_after="999"))
    sleeps: list[float] = []
    with make_client(fake, sleep=sleeps.append, retry=RetryPolicy(max_retry_after=60)) as client:
        make_image(client, ImageRequest("cogview-4", "x"))
    assert sleeps == [7.0, 60.0]


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0)
    assert [policy.backoff(n, rng=lambda: 0.0) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert [policy.backoff(n, rng=lambda: 1.0) for n in (1, 2, 3, 4, 5)] == [1.0, 2.0, 4.0, 8.0, 8.0]


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 25 Nov 2026 10:00:30 GMT", now=1795600800.0) == 30.0


def test_error_without_json_body_is_still_explained(fake) -> None:
    fake.script(SYNC_ROUTE, Reply(status=418, body=b"teapot", headers={"Content-Type": "text/plain"}))
    with make_client(fake) as client, pytest.raises(UpstreamFailure) as caught:
        make_image(client, ImageRequest("cogview-4", "x"))
    assert caught.value.exit_code == 5 and "418" in str(caught.value) and "teapot" in str(caught.value)


def test_answer_without_image_is_a_clear_error(fake) -> None:
    fake.script(SYNC_ROUTE, Reply(body={"created": 1, "data": []}))
    with make_client(fake) as client, pytest.raises(UpstreamFailure) as caught:
        make_image(client, ImageRequest("cogview-4", "x"))
    assert caught.value.message_id == "bad_response"


def test_broken_image_url_is_reported_with_the_url(fake) -> None:
    fake.script("GET /files", *[Reply(status=404, body=b"gone")] * 3)
    with make_client(fake) as client, pytest.raises(UpstreamFailure) as caught:
        make_image(client, ImageRequest("cogview-4", "x"))
    assert caught.value.message_id == "download_failed"
    assert "/files/2025-cogview-" in str(caught.value)
