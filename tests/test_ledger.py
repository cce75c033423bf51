"""The spend ledger, `usage`, budgets and `config import`.  Every test counts what the fake upstream was asked to
make (what was paid) against what the ledger says, and budgets are checked by the calls that never arrived."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx
import pytest

from glm_image_cli.backends.bigmodel import BIGMODEL, BigModelClient
from glm_image_cli.core.ledger import Budgets, Ledger, Spending
from glm_image_cli.core.studio import Studio
from glm_image_cli.serve.server import GlmImageHTTPServer
from glm_image_cli.serve.service import ImageService, ServeOptions
from tests.conftest import serve_studio
from tests.fake_bigmodel import DEFAULT_KEY, SYNC_ROUTE, Reply
from tests.test_console_script import spawn_batch, wait_until_reached

PRICE = 0.06  # cogview-4-250304, the default model, in CNY


def prompts(count: int, name: str = "p.txt") -> Path:
    path = Path(name)
    path.write_text("".join(f"prompt {i}\n" for i in range(count)), encoding="utf-8")
    return path


def entries() -> list:
    ledger = Ledger()
    try:
        return ledger.entries()
    finally:
        ledger.close()


def counted(rows: list) -> list:
    return [row for row in rows if row.counted]


def usage(cli, *args: str) -> dict:
    result = cli("usage", "--json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


# --- the ledger matches what was paid --------------------------------------------------------------------

def test_generate_and_batch_record_each_paid_request(cli, fake) -> None:
    assert cli("generate", "a cat", "-n", "3", "-o", "out", "--yes").exit_code == 0
    prompts(4)
    assert cli("batch", "p.txt", "-o", "out2", "--yes").exit_code == 0
    rows = entries()
    assert len(rows) == fake.count(SYNC_ROUTE) == 7
    assert [row.outcome for row in rows] == ["saved"] * 7
    assert [row.command for row in rows] == ["generate"] * 3 + ["batch"] * 4
    assert {row.currency for row in rows} == {"CNY"} and {row.model for row in rows} == {"cogview-4-250304"}
    assert sum(row.cost for row in rows) == pytest.approx(7 * PRICE)
    # a resumed batch pays nothing and records nothing
    assert cli("batch", "p.txt", "-o", "out2", "--yes").exit_code == 0
    assert len(entries()) == fake.count(SYNC_ROUTE) == 7


def test_a_refused_request_is_recorded_but_not_counted(cli, fake) -> None:
    fake.script(SYNC_ROUTE, Reply.error(400, "1301", "unsafe"))
    result = cli("generate", "a cat", "-o", "out")
    assert result.exit_code == 6
    rows = entries()
    assert [(row.outcome, row.counted) for row in rows] == [("refused", False)]
    totals = usage(cli)["totals"]
    assert totals["requests"] == 1 and totals["billed"] == 0 and totals["estimated_cost"] == 0


def test_usage_json_totals_and_groups(cli, fake) -> None:
    assert cli("generate", "a cat", "-n", "2", "-o", "out").exit_code == 0
    assert cli("generate", "a dog", "-m", "cogview-3-flash", "-o", "out").exit_code == 0
    report = usage(cli, "--by", "model", "--since", "7d")
    assert report["currency"] == "CNY" and report["estimate"] is True
    assert report["totals"]["requests"] == 3 and report["totals"]["billed"] == 3
    assert report["totals"]["estimated_cost"] == pytest.approx(2 * PRICE)
    groups = {group["key"]: group for group in report["groups"]}
    assert groups["cogview-4-250304"]["estimated_cost"] == pytest.approx(2 * PRICE)
    assert groups["cogview-3-flash"]["estimated_cost"] == 0 and groups["cogview-3-flash"]["billed"] == 1
    by_command = usage(cli, "--by", "command")
    assert [group["key"] for group in by_command["groups"]] == ["generate"]
    assert usage(cli, "--since", "2999-01-01")["totals"]["requests"] == 0
    text = cli("usage", "--by", "day")
    assert text.exit_code == 0 and "0.12 CNY" in text.stdout and "█" in text.stdout
    assert "not the platform's bill" in text.stderr


def test_serve_records_its_requests_and_answers_402_over_budget(fake) -> None:
    options = ServeOptions(port=0, rate_per_minute=0)
    client = BigModelClient(DEFAULT_KEY, fake.base_url, timeout=30)
    spending = Spending(Ledger(), "serve", "cn", Budgets(daily=3 * PRICE + 0.001), backend=BIGMODEL)
    studio = Studio(serve_studio(client).settings, command="serve", client=client, spending=spending)
    server = GlmImageHTTPServer(options, ImageService(studio, options), lambda line: None)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    url = "http://{}:{}/v1/images/generations".format(*server.server_address[:2])
    try:
        ok = httpx.post(url, json={"prompt": "a cat", "n": 2}, timeout=30)
        assert ok.status_code == 200 and len(ok.json()["data"]) == 2
        over = httpx.post(url, json={"prompt": "a cat", "n": 2}, timeout=30)  # 4 images > the budget of 3
        assert over.status_code == 402
        assert over.json()["error"]["code"] == "BUDGET_EXCEEDED"
        assert fake.count(SYNC_ROUTE) == 2
        rows = entries()
        assert [(row.command, row.outcome) for row in rows] == [("serve", "saved")] * 2
    finally:
        server.shutdown()
        server.server_close()
        client.close()
        spending.ledger.close()


# --- budgets ----------------------------------------------------------------------------------------------

def test_a_budget_refuses_before_any_request_and_yes_does_not_bypass_it(cli, fake) -> None:
    assert cli("config", "set", "budget-daily", "0.1").exit_code == 0
    result = cli("generate", "a cat", "-n", "2", "-o", "out", "--yes", "--json")
    assert result.exit_code == 14, result.stderr
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "BUDGET_EXCEEDED"
    assert "0.12" in error["message"] and "budget-daily" in error["message"]
    assert fake.count(SYNC_ROUTE) == 0 and entries() == []
    assert cli("generate", "a cat", "-o", "out").exit_code == 0  # one image fits
    assert cli("generate", "a cat", "-o", "out").exit_code == 14  # 0.06 spent + 0.06 > 0.1
    assert fake.count(SYNC_ROUTE) == 1


def test_a_batch_over_budget_runs_nothing_or_with_max_images_what_fits(cli, fake) -> None:
    assert cli("config", "set", "budget-monthly", str(2 * PRICE + 0.01)).exit_code == 0
    prompts(5)
    refused = cli("batch", "p.txt", "-o", "out", "--yes")
    assert refused.exit_code == 14, refused.stderr
    assert "monthly" in refused.stderr and fake.count(SYNC_ROUTE) == 0
    capped = cli("batch", "p.txt", "-o", "out", "--yes", "--max-images", "5")
    assert capped.exit_code == 0, capped.stderr
    assert "room for 2 of 5" in capped.stderr
    assert fake.count(SYNC_ROUTE) == 2 and len(list(Path("out").glob("*.png"))) == 2
    assert len(counted(entries())) == 2


def test_two_runs_at_once_cannot_together_cross_the_budget(cli, fake) -> None:
    """Each run wants more than half of the budget: the second is refused while the first holds its share."""
    assert cli("config", "set", "budget-daily", str(5 * PRICE + 0.001)).exit_code == 0
    prompts(3)
    prompts(3, "q.txt")
    fake.hold_after = 0  # the first run's calls wait until released: it is surely running
    first = spawn_batch(fake, "p.txt", "-o", "out1", "--yes", "-j", "1")
    try:
        wait_until_reached(fake, first, SYNC_ROUTE, 1)
        second = cli("batch", "q.txt", "-o", "out2", "--yes")
        assert second.exit_code == 14, second.stderr
        assert fake.count(SYNC_ROUTE) == 1
    finally:
        fake.released.set()
        first.communicate(timeout=60)
    assert first.returncode == 0
    assert fake.count(SYNC_ROUTE) == 3
    rows = entries()
    assert len(counted(rows)) == 3 and sum(row.cost for row in counted(rows)) <= 5 * PRICE + 0.001


def test_concurrent_holds_never_overspend(tmp_path: Path) -> None:
    """Threads with their own connections (as separate processes would have) race for the same budget."""
    database = tmp_path / "race.sqlite3"
    budgets = Budgets(daily=1.0)
    won: list[int] = []
    refused: list[int] = []
    barrier = threading.Barrier(8)

    def contend(number: int) -> None:
        ledger = Ledger(database)
        try:
            barrier.wait()
            try:
                spending = Spending(ledger, "batch", "cn", budgets, backend=BIGMODEL)
                hold = spending.hold(["glm-image"] * 6)  # 0.60 each: > half
            except Exception:
                refused.append(number)
                return
            won.append(number)
            for _ in range(6):
                ledger.settle(hold.reserve(type("U", (), {"plan": type("P", (), {"model": "glm-image"})})()),
                              "saved")
        finally:
            ledger.close()

    threads = [threading.Thread(target=contend, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1 and len(refused) == 7
    spent = sum(row.cost for row in Ledger(database).entries() if row.counted)
    assert spent == pytest.approx(0.6)


def test_a_dead_processes_hold_is_dropped(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite3")
    budgets = Budgets(daily=0.2)
    entry, _ = ledger.hold(command="batch", costs=[0.1, 0.1], currency="CNY", budgets=budgets)
    connection = ledger._connect()
    connection.execute("UPDATE spend SET pid = ? WHERE id = ?", (2 ** 22 + 12345, entry))  # no such process
    again, count = ledger.hold(command="batch", costs=[0.1, 0.1], currency="CNY", budgets=budgets)
    assert again is not None and count == 2
    ledger.close()


# --- config import ------------------------------------------------------------------------------------------

SKILL_ENV = """# the original skill's settings
export GLM_API_KEY="{key}"
GLM_API_SECRET=not-needed
DEFAULT_WIDTH=1024
DEFAULT_HEIGHT='768'
DEFAULT_MODEL=cogview-3   # what the skill shipped with
DEFAULT_STYLE="卡通"
SERVER_HOST=0.0.0.0
SERVER_PORT = 5002
"""


def test_config_import_of_the_original_env(cli) -> None:
    Path("skill.env").write_text(SKILL_ENV.format(key=DEFAULT_KEY), encoding="utf-8")
    dry = cli("config", "import", "skill.env", "--dry-run")
    assert dry.exit_code == 0 and "Dry run" in dry.stderr
    assert json.loads(cli("config", "show", "--json").stdout)["exists"] is False
    result = cli("config", "import", "skill.env")
    assert result.exit_code == 0, result.stderr
    assert "GLM_API_SECRET is ignored" in result.stderr and "cogview-3 is kept" in result.stderr
    assert DEFAULT_KEY not in result.stdout + result.stderr  # masked (conftest also checks the secret part)
    settings = json.loads(cli("config", "show", "--json").stdout)["settings"]
    values = {key: entry["value"] for key, entry in settings.items() if entry["source"] == "file"}
    assert values == {"api-key": values["api-key"], "model": "cogview-3", "style": "卡通", "size": "1024x768",
                      "server-host": "0.0.0.0", "server-port": 5002}
    assert values["api-key"] != DEFAULT_KEY and "…" in values["api-key"]
    again = json.loads(cli("config", "import", "skill.env", "--json").stdout)
    assert not any(change["changed"] for change in again["changes"])


def test_config_import_of_a_missing_file(cli) -> None:
    result = cli("config", "import", "nowhere.env", "--json")
    assert result.exit_code == 3
    assert json.loads(result.stdout)["error"]["code"] == "ENV_FILE_UNREADABLE"
