"""The account's concurrency limit: found within a few refusals, remembered per account and model (never
the key), shared by serve's requests; refusals are retried and never counted as failures."""

from __future__ import annotations

import json
from pathlib import Path

from glm_image_cli.core.limits import PROBE_AFTER_ROUNDS, SLOW_START, Limiter, LimitStore, ModelLimit
from tests.conftest import SECRET_PART
from tests.fake_bigmodel import DEFAULT_KEY, SYNC_ROUTE


def test_slow_start_grows_until_the_first_refusal_then_holds_the_ceiling() -> None:
    limit = ModelLimit(cap=16)
    assert limit.limit == SLOW_START
    for _ in range(3):
        limit.succeeded()
    assert limit.limit == SLOW_START + 3
    limit.in_flight = 6  # the refused call among them
    limit.refused()
    assert limit.limit == 5 and limit.learned == 5
    for _ in range(PROBE_AFTER_ROUNDS * 5 - 1):
        limit.succeeded()
    assert limit.limit == 5  # no probe yet
    limit.succeeded()
    assert limit.limit == 6  # a rare probe above the ceiling


def test_the_users_cap_is_an_upper_bound_even_for_a_remembered_limit() -> None:
    assert ModelLimit(cap=3, learned=10).limit == 3
    assert ModelLimit(cap=16, learned=6).limit == 6


def test_a_refusal_pauses_that_model_briefly_and_tells_the_store(tmp_path) -> None:
    now = [100.0]
    learned: list[tuple[str, int]] = []
    limiter = Limiter(8, clock=lambda: now[0], rng=lambda: 0.0, on_learned=lambda m, n: learned.append((m, n)))
    assert all(limiter.acquire("m") for _ in range(4))
    limiter.refused("m")
    assert learned == [("m", 3)] and limiter.model("m").paused_until == 100.05
    limiter.release("m", False)
    assert limiter.acquire("other")  # another model is not paused


def test_the_store_keeps_limits_per_account_and_model_without_the_key(tmp_path) -> None:
    store = LimitStore.for_account(tmp_path, DEFAULT_KEY, "http://127.0.0.1:1/api/paas/v4/")
    store.put("cogview-4", 4)
    assert store.get("cogview-4") == 4 and store.get("glm-image") is None
    other = LimitStore.for_account(tmp_path, "another-key.XYZ", "http://127.0.0.1:1/api/paas/v4")
    assert other.get("cogview-4") is None
    text = (tmp_path / "limits.json").read_text(encoding="utf-8")
    assert SECRET_PART not in text and DEFAULT_KEY.split(".")[0] not in text


def prompts(count: int) -> None:
    Path("p.txt").write_text("".join(f"prompt {i}\n" for i in range(count)), encoding="utf-8")


def test_a_batch_finds_the_accounts_limit_makes_everything_and_remembers_it(cli, fake, tmp_path) -> None:
    fake.concurrency_limit = 3
    fake.latency = 0.1  # calls overlap, as against a real upstream
    prompts(30)
    first = cli("batch", "p.txt", "-o", "out", "--yes", "-j", "16", "--json")
    assert first.exit_code == 0, first.stderr
    summary = json.loads(first.stdout.splitlines()[-1])
    assert summary["done"] == 30 and summary["failed"] == 0
    [(model, limit)] = summary["limits"].items()
    assert model == "cogview-4-250304" and limit["account_limit"] == 3 and limit["refused"] == fake.refused
    assert limit["limit"] in (3, 4)  # the ceiling, or one rare probe above it
    assert fake.refused <= 8  # found within a few refusals, none of them a failure
    assert fake.max_in_flight <= 16
    store = json.loads((tmp_path / "data" / "limits.json").read_text(encoding="utf-8"))
    assert [entry["limit"] for entry in store.values()] == [3]
    refused_before = fake.refused
    Path("q.txt").write_text("".join(f"other {i}\n" for i in range(30)), encoding="utf-8")
    second = cli("batch", "q.txt", "-o", "out2", "--yes", "-j", "16")
    assert second.exit_code == 0, second.stderr
    assert fake.refused - refused_before <= 3
    assert fake.count(SYNC_ROUTE) - fake.refused == 60  # every image paid once


def test_generate_retries_a_concurrency_refusal_and_does_not_count_it_as_a_failure(cli, fake) -> None:
    fake.concurrency_limit = 1
    fake.latency = 0.05
    result = cli("generate", "a cat", "-n", "4", "-j", "4", "--yes", "--json")
    assert result.exit_code == 0, result.stderr
    assert all(record["ok"] for record in json.loads(result.stdout))
    assert fake.count(SYNC_ROUTE) - fake.refused == 4
