"""Budgets that hold whatever the model, the time zone or the retries: each test counts the calls the fake upstream
was asked to make (what was paid) against what the ledger counts, so nothing is paid beyond a budget unseen."""

from __future__ import annotations

import json
import subprocess
import threading
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from glm_image_cli.backends.bigmodel import BigModelClient
from glm_image_cli.core.ledger import Ledger
from glm_image_cli.core.studio import Studio
from glm_image_cli.errors import BudgetExceeded
from glm_image_cli.serve.server import GlmImageHTTPServer, ImageService, ServeOptions
from tests.conftest import serve_studio
from tests.fake_bigmodel import DEFAULT_KEY, SYNC_ROUTE, Reply
from tests.test_console_script import child_env, console_script
from tests.test_ledger import entries

PRICE = 0.06  # cogview-4-250304, the default model, in CNY


def usage(cli, *args: str) -> dict:
    result = cli("usage", "--json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def add_prices(config: Path, **prices: float) -> None:
    """A [prices] table at the end of the config file (after the settings `config set` wrote)."""
    lines = "".join(f'"{model.replace("_", "-")}" = {price}\n' for model, price in prices.items())
    with config.open("a", encoding="utf-8") as handle:
        handle.write(f"\n[prices]\n{lines}")


# --- a model with no known price under a budget -------------------------------------------------------------

def test_generate_refuses_an_unpriced_model_under_a_budget_until_prices_names_it(cli, fake, isolated) -> None:
    assert cli("config", "set", "budget-daily", "0").exit_code == 0
    refused = cli("generate", "x", "-m", "glm-image-2", "-n", "3", "-o", "out", "--yes")
    assert refused.exit_code == 14, refused.stderr
    [line] = [line for line in refused.stderr.splitlines() if line.startswith("error:")]  # after the model warning
    assert "glm-image-2 has no known price" in line
    assert "[prices]" in line and str(isolated) in line and "budget-daily" in line
    assert fake.count(SYNC_ROUTE) == 0 and entries() == []
    as_json = cli("generate", "x", "-m", "glm-image-2", "-o", "out", "--json")
    assert json.loads(as_json.stdout)["error"]["code"] == "BUDGET_UNKNOWN_PRICE" and as_json.exit_code == 14
    assert "没有已知价格" in cli("--lang", "zh", "generate", "x", "-m", "glm-image-2", "-o", "out").stderr
    assert fake.count(SYNC_ROUTE) == 0

    assert cli("config", "set", "budget-daily", "0.25").exit_code == 0
    add_prices(isolated, glm_image_2=0.1)
    over = cli("generate", "x", "-m", "glm-image-2", "-n", "3", "-o", "out", "--yes")
    assert over.exit_code == 14 and "BUDGET" not in over.stderr and "0.30" in over.stderr  # now it is counted
    made = cli("generate", "x", "-m", "glm-image-2", "-n", "2", "-o", "out", "--yes")
    assert made.exit_code == 0, made.stderr
    assert fake.count(SYNC_ROUTE) == 2 and usage(cli)["totals"]["estimated_cost"] == pytest.approx(0.2)


def test_without_a_budget_an_unpriced_model_is_made_and_recorded_as_unknown(cli, fake) -> None:
    assert cli("generate", "x", "-m", "glm-image-2", "-o", "out").exit_code == 0
    assert fake.count(SYNC_ROUTE) == 1
    assert [(row.model, row.priced, row.counted) for row in entries()] == [("glm-image-2", False, True)]


def test_batch_refuses_an_unpriced_model_under_a_budget_before_anything_is_sent(cli, fake) -> None:
    assert cli("config", "set", "budget-monthly", "100").exit_code == 0
    Path("p.jsonl").write_text('{"prompt": "a cat"}\n{"prompt": "a dog", "model": "cogview-5"}\n', encoding="utf-8")
    refused = cli("batch", "p.jsonl", "-o", "out", "--yes")
    assert refused.exit_code == 14, refused.stderr
    assert "cogview-5 has no known price" in refused.stderr and "budget-monthly" in refused.stderr
    capped = cli("batch", "p.jsonl", "-o", "out", "--yes", "--max-images", "2")
    assert capped.exit_code == 14 and "cogview-5" in capped.stderr
    assert fake.count(SYNC_ROUTE) == 0 and entries() == []


def test_serve_answers_402_for_an_unpriced_model_under_a_budget(fake) -> None:
    options = ServeOptions(port=0, rate_per_minute=0)
    client = BigModelClient(DEFAULT_KEY, fake.base_url, timeout=30)
    studio = serve_studio(client, budget_daily=100)
    server = GlmImageHTTPServer(options, ImageService(studio, options), lambda line: None)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    url = "http://{}:{}/v1/images/generations".format(*server.server_address[:2])
    try:
        over = httpx.post(url, json={"prompt": "a cat", "model": "cogview-5", "n": 4}, timeout=30)
        assert over.status_code == 402, over.text
        assert over.json()["error"]["code"] == "BUDGET_UNKNOWN_PRICE" and "[prices]" in over.json()["error"]["message"]
        assert fake.count(SYNC_ROUTE) == 0 and entries() == []
        priced = httpx.post(url, json={"prompt": "a cat", "n": 1}, timeout=30)  # a priced model still works
        assert priced.status_code == 200 and fake.count(SYNC_ROUTE) == 1
    finally:
        server.shutdown()
        server.server_close()
        client.close()
        studio.close()


def test_the_python_api_refuses_an_unpriced_model_under_a_budget(fake) -> None:
    with Studio.from_config(overrides={"budget-daily": 5, "output-dir": "out"}) as studio, \
            pytest.raises(BudgetExceeded) as refused:
        studio.generate(studio.plan("a cat", model="glm-image-2"))
    assert refused.value.code == "BUDGET_UNKNOWN_PRICE" and refused.value.exit_code == 14
    assert fake.count(SYNC_ROUTE) == 0


# --- one budget day, whatever the time zone -----------------------------------------------------------------

def run_in_zone(fake, zone: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The console script under ``TZ=zone`` (the isolated config and data folders come with the environment)."""
    return subprocess.run([*console_script(), *args], env={**child_env(fake), "TZ": zone}, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=60)


def shanghai_day() -> str:
    return datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d")


def test_changing_tz_gives_no_second_daily_budget(cli, fake) -> None:
    assert cli("config", "set", "budget-daily", "0.12").exit_code == 0  # two images of cogview-4 (0.06)
    day = shanghai_day()
    # 26 hours apart: on their own clocks these two zones are never on the same date
    codes = [run_in_zone(fake, zone, "generate", "x", "-o", "out").returncode
             for zone in ("Etc/GMT-14", "Etc/GMT-14", "Etc/GMT+12", "Etc/GMT+12")]
    if shanghai_day() != day:
        pytest.skip("the budget day ended during the test")
    assert codes == [0, 0, 14, 14]
    assert fake.count(SYNC_ROUTE) == 2 and usage(cli)["totals"]["estimated_cost"] == pytest.approx(0.12)


def test_usage_and_history_since_count_the_same_rows_in_every_time_zone(cli, fake) -> None:
    for zone in ("Etc/GMT-14", "UTC", "Etc/GMT+12"):
        assert run_in_zone(fake, zone, "generate", "x", "-o", "out").returncode == 0
    for zone in ("Etc/GMT-14", "Asia/Kolkata", "UTC", "America/St_Johns", "Etc/GMT+12"):
        report = json.loads(run_in_zone(fake, zone, "usage", "--since", "1h", "--json").stdout)
        assert report["totals"]["requests"] == 3, zone
        listed = json.loads(run_in_zone(fake, zone, "history", "--since", "1h", "--json").stdout)
        assert len(listed) == 3, zone
        assert all(row["created"].endswith("+00:00") for row in listed)
    assert fake.count(SYNC_ROUTE) == 3


def test_the_budget_day_is_the_budget_timezones_day(tmp_path: Path) -> None:
    """Shanghai's midnight is 16:00 UTC: an image at 15:59 and one at 16:01 UTC are on two budget days, and on one
    day when the budget's zone is UTC (then the second does not fit a budget of one image a day)."""
    from datetime import UTC

    from glm_image_cli.core.ledger import Budgets

    def two_images(zone: str) -> tuple[list[str], list[str]]:
        moments = iter([datetime(2026, 12, 6, 15, 59, tzinfo=UTC), datetime(2026, 12, 6, 16, 1, tzinfo=UTC)])
        ledger = Ledger(tmp_path / f"{zone.replace('/', '-')}.sqlite3", clock=lambda: next(moments))
        outcomes = []
        try:
            for _ in range(2):
                try:
                    ledger.reserve(hold=None, command="generate", model="glm-image", cost=0.1, priced=True,
                                   currency="CNY", budgets=Budgets(daily=0.1, zone=ZoneInfo(zone)))
                    outcomes.append("sent")
                except BudgetExceeded:
                    outcomes.append("refused")
            return outcomes, [entry.day for entry in ledger.entries(zone=ZoneInfo(zone))]
        finally:
            ledger.close()

    assert two_images("Asia/Shanghai") == (["sent", "sent"], ["2026-12-06", "2026-12-07"])
    assert two_images("UTC") == (["sent", "refused"], ["2026-12-06"])


def test_old_ledger_rows_in_local_time_are_read_as_instants(cli, fake) -> None:
    """Rows written before times were UTC hold local text with an offset: they still count, on the right day."""
    from datetime import UTC, timedelta

    now = datetime.now(UTC)
    written = [(now - timedelta(minutes=30)).astimezone(timezone(timedelta(hours=14))),
               (now - timedelta(minutes=20)).astimezone(timezone(timedelta(hours=-12))),
               (now - timedelta(hours=3)).astimezone(timezone(timedelta(hours=5, minutes=30)))]
    ledger = Ledger()
    try:
        connection = ledger._connect()
        for moment in written:
            connection.execute(
                "INSERT INTO spend (created, day, command, model, images, cost, currency, priced, outcome, pid) "
                "VALUES (?, ?, 'generate', 'cogview-4-250304', 1, 0.06, 'CNY', 1, 'saved', NULL)",
                (moment.isoformat(timespec="seconds"), moment.strftime("%Y-%m-%d")))
    finally:
        ledger.close()
    report = usage(cli, "--since", "1h")
    assert report["totals"]["requests"] == 2 and report["totals"]["estimated_cost"] == pytest.approx(0.12)
    assert all(entry.created.endswith("+00:00") for entry in entries())
    assert cli("config", "set", "budget-daily", "1").exit_code == 0
    spent_today = usage(cli)["budgets"]["daily"]["spent"]
    day_start = datetime.now(ZoneInfo("Asia/Shanghai")).replace(hour=0, minute=0, second=0, microsecond=0)
    assert spent_today == pytest.approx(0.06 * sum(1 for moment in written if moment >= day_start))


def test_budget_timezone_is_an_iana_zone_name(cli) -> None:
    assert cli("config", "set", "budget-timezone", "Europe/Berlin").exit_code == 0
    shown = json.loads(cli("config", "show", "--json").stdout)["settings"]["budget-timezone"]
    assert shown["value"] == "Europe/Berlin"
    for wrong in ("Mars/Olympus_Mons", "../../etc/passwd", "UTC+8"):
        refused = cli("config", "set", "budget-timezone", wrong)
        assert refused.exit_code != 0 and "IANA time zone" in refused.stderr, wrong
    from_env = cli("usage", env={"GLM_IMAGE_BUDGET_TIMEZONE": "Nowhere/Town"})
    assert from_env.exit_code == 3 and "GLM_IMAGE_BUDGET_TIMEZONE" in from_env.stderr


# --- --retry-unsafe: every attempt that may have been billed is counted ----------------------------------------

def outcomes() -> list[str]:
    return [entry.outcome for entry in entries()]


def test_retry_unsafe_records_every_attempt_that_may_have_been_billed(cli, fake) -> None:
    fake.script(SYNC_ROUTE, Reply(drop=True), Reply(drop=True), Reply(drop=True))
    result = cli("generate", "x", "-o", "out", "--retry-unsafe", "--json")
    assert result.exit_code == 9, result.stderr
    error = json.loads(result.stdout)[0]["error"]
    assert error["code"] == "RESPONSE_LOST_MAYBE_CHARGED"
    assert "3 attempt(s) with --retry-unsafe" in error["message"] and "not retried" not in error["message"]
    assert fake.count(SYNC_ROUTE) == 3 and outcomes() == ["uncertain"] * 3
    assert usage(cli)["totals"]["estimated_cost"] == pytest.approx(3 * PRICE)
    assert list(Path("out").glob("*.png")) == []  # no image came back: nothing paid and lost, nothing paid twice


def test_retry_unsafe_that_succeeds_counts_the_lost_attempts_too(cli, fake) -> None:
    fake.script(SYNC_ROUTE, Reply(drop=True), Reply(drop=True))
    assert cli("generate", "x", "-o", "out", "--retry-unsafe").exit_code == 0
    assert fake.count(SYNC_ROUTE) == 3 and outcomes() == ["uncertain", "uncertain", "saved"]
    assert len(list(Path("out").glob("*.png"))) == 1  # the one image made is kept


def test_retry_unsafe_stops_resending_where_the_budget_ends(cli, fake) -> None:
    assert cli("config", "set", "budget-daily", str(2 * PRICE)).exit_code == 0
    fake.script(SYNC_ROUTE, *[Reply(drop=True)] * 5)
    result = cli("generate", "x", "-o", "out", "--retry-unsafe")
    assert result.exit_code == 9, result.stderr
    assert "2 attempt(s)" in result.stderr and "would not fit the budget (budget-daily)" in result.stderr
    assert fake.count(SYNC_ROUTE) == 2 and outcomes() == ["uncertain"] * 2
    assert cli("generate", "x", "-o", "out").exit_code == 14 and fake.count(SYNC_ROUTE) == 2  # the day is spent


def test_retry_unsafe_after_gateway_timeouts_counts_each_and_says_so(cli, fake) -> None:
    gateway = Reply(status=504, body=b"<html>504 Gateway Time-out</html>", headers={"Content-Type": "text/html"})
    fake.script(SYNC_ROUTE, gateway, gateway, gateway)
    result = cli("--lang", "zh", "generate", "x", "-o", "out", "--retry-unsafe")
    assert result.exit_code == 9 and "共发送 3 次" in result.stderr and "没有自动重试" not in result.stderr
    assert fake.count(SYNC_ROUTE) == 3 and outcomes() == ["uncertain"] * 3


def test_a_batch_with_retry_unsafe_counts_every_attempt_and_a_rerun_sends_none_again(cli, fake) -> None:
    Path("p.txt").write_text("a cat\na dog\n", encoding="utf-8")
    fake.script(SYNC_ROUTE, Reply(drop=True), Reply(drop=True), Reply(drop=True))
    first = cli("batch", "p.txt", "-o", "out", "--yes", "-j", "1", "--retry-unsafe")
    assert first.exit_code == 9, first.stderr
    assert fake.count(SYNC_ROUTE) == 4  # 3 lost attempts of the first item, 1 for the second
    assert sorted(outcomes()) == ["saved"] + ["uncertain"] * 3
    again = cli("batch", "p.txt", "-o", "out", "--yes")
    assert again.exit_code == 9 and fake.count(SYNC_ROUTE) == 4  # maybe billed: never bought again unasked
    assert len(list(Path("out").glob("*.png"))) == 1


def test_the_client_reports_each_maybe_billed_attempt_before_sending_it_again(fake) -> None:
    """Read timeouts: the caller hears of each lost attempt before the next leaves, and may refuse it."""
    from glm_image_cli.backends.bigmodel import ImageRequest
    from glm_image_cli.errors import NetworkFailure

    fake.script(SYNC_ROUTE, *[Reply(delay=30)] * 3)  # released at teardown
    heard: list[int] = []

    def progress(event: str, info: dict) -> None:
        if event == "resending":
            heard.append(fake.count(SYNC_ROUTE))
            if len(heard) == 2:
                raise BudgetExceeded("budget_exceeded", period="daily", budget=1, spent=1, cost=1, currency="CNY",
                                     key="budget-monthly")

    with BigModelClient(DEFAULT_KEY, fake.base_url, timeout=0.3, retry_unsafe=True) as client, \
            pytest.raises(NetworkFailure) as caught:
        client.request_image(ImageRequest("cogview-4", "x"), progress)
    assert heard == [1, 2] and fake.count(SYNC_ROUTE) == 2  # reported before each resend; the refusal sent none
    assert caught.value.message_id == "response_timeout_retried" and caught.value.maybe_billed
    assert "2 attempt(s)" in str(caught.value) and "(budget-monthly)" in str(caught.value)


def test_old_history_rows_in_local_time_are_found_and_shown_as_instants(cli) -> None:
    from datetime import UTC, timedelta

    from glm_image_cli.storage.history import History

    store = History()
    store.add(command="generate", prompt="new", path="new.png")
    old = (datetime.now(UTC) - timedelta(minutes=10)).astimezone(timezone(timedelta(hours=-12)))
    with store._connect() as connection:  # as a version before UTC times wrote it
        connection.execute("UPDATE images SET created = ? WHERE prompt = 'new'", (old.isoformat(timespec="seconds"),))
    store.close()
    [row] = json.loads(cli("history", "--since", "1h", "--json").stdout)
    assert row["created"] == old.astimezone(UTC).isoformat(timespec="seconds")
