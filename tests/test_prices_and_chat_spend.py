"""The rest of issue 19: the [prices] table in the config file (used by every estimate), `usage --by` completion,
the --enhance chat call in the ledger when its model is priced, and honest labels for rows never settled."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from glm_image_cli.backends.registry import backend_named
from glm_image_cli.core.ledger import Budgets, Ledger
from glm_image_cli.core.pricing import PRICES_AS_OF, estimate
from glm_image_cli.storage.config import load_config
from tests.fake_bigmodel import CHAT_ROUTE, SYNC_ROUTE, Reply
from tests.test_ledger import entries, prompts, usage

DEAD_PID = 2 ** 22 + 12345  # no such process (above the usual pid_max)


def write_config(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


# --- [prices] -------------------------------------------------------------------------------------------------

def test_prices_table_overrides_the_reference_table(isolated: Path) -> None:
    write_config(isolated, '[prices]\n"CogView-4-250304" = 0.5\n"cogview-5" = 0.2\n')
    cfg = load_config()
    assert cfg.prices == {"cogview-4-250304": 0.5, "cogview-5": 0.2}
    backend = backend_named(cfg.backend)
    assert estimate({"cogview-4-250304": 2}, cfg.region, cfg.prices, backend=backend) == (1.0, "CNY", 0)
    assert estimate({"cogview-5": 1}, cfg.region, cfg.prices, backend=backend) == (0.2, "CNY", 0)  # now priced
    assert estimate({"cogview-5": 1}, cfg.region, backend=backend) == (0.0, "CNY", 1)  # no overrides: unknown
    assert estimate({"glm-image": 1}, cfg.region, cfg.prices, backend=backend)[0] == pytest.approx(0.1)
    assert not cfg.warnings  # [prices] is not an "ignored key"


@pytest.mark.parametrize("table", ['glm-image = "cheap"', "glm-image = -1", "glm-image = true",
                                   "glm-image = 1e9", "glm-image = nan", '" " = 1'])
def test_a_bad_prices_table_is_a_config_error(cli, isolated: Path, table: str) -> None:
    write_config(isolated, f"[prices]\n{table}\n")
    result = cli("config", "show")
    assert result.exit_code == 3, result.stderr
    assert "[prices]" in result.stderr


def test_prices_is_not_a_table(cli, isolated: Path) -> None:
    write_config(isolated, 'prices = "cheap"\n')
    assert cli("config", "show").exit_code == 3


def test_config_show_lists_the_overrides(cli, isolated: Path) -> None:
    write_config(isolated, '[prices]\n"glm-image" = 0.12\n')
    data = json.loads(cli("config", "show", "--json").stdout)
    assert data["prices"] == {"glm-image": 0.12}
    text = cli("config", "show")
    assert text.exit_code == 0, text.stderr
    assert "glm-image = 0.12" in text.stdout and PRICES_AS_OF in text.stdout and "CNY" in text.stdout
    write_config(isolated, "")
    assert json.loads(cli("config", "show", "--json").stdout)["prices"] == {}
    assert "[prices]" not in cli("config", "show").stdout


def test_overridden_price_reaches_ledger_usage_budget_consent_and_dry_run(cli, fake, isolated: Path) -> None:
    write_config(isolated, '[prices]\n"cogview-4-250304" = 0.5\n')
    assert cli("generate", "a cat", "-n", "2", "-o", "out", "--yes").exit_code == 0
    assert [row.cost for row in entries()] == [0.5, 0.5]
    assert usage(cli)["totals"]["estimated_cost"] == pytest.approx(1.0)
    # consent: 2 x 0.5 is above confirm-above (1.0 by default) once more images are asked for
    refused = cli("generate", "a cat", "-n", "3", "-o", "out")
    assert refused.exit_code != 0 and "1.50 CNY" in refused.stderr and fake.count(SYNC_ROUTE) == 2
    # batch --dry-run
    prompts(3)
    plan = json.loads(cli("batch", "p.txt", "--dry-run", "--json").stdout.splitlines()[0])
    assert plan["estimated_cost"] == pytest.approx(1.5)
    # budgets: 1.0 spent + 0.5 > 1.2
    assert cli("config", "set", "budget-daily", "1.2").exit_code == 0
    over = cli("generate", "a cat", "-o", "out", "--yes")
    assert over.exit_code == 14 and fake.count(SYNC_ROUTE) == 2


# --- usage --by completes ---------------------------------------------------------------------------------------

def test_usage_by_completes_on_both_paths() -> None:
    from glm_image_cli.cli.commands.completion import SOURCES, complete_usage_by
    from glm_image_cli.cli.commands.usage_cmd import GROUPINGS
    from tests.test_completion import _complete

    assert SOURCES["by"] == "usage_by" and complete_usage_by("") == list(GROUPINGS)
    cases = (("glm-image usage --by ", {"day", "model", "command"}), ("glm-image usage --by m", {"model"}))
    for words, wanted in cases:
        env = {"instruction": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": "3"}
        fast = _complete(dict(env), full=False)
        full = _complete(dict(env), full=True)
        assert fast.returncode == full.returncode == 0, fast.stderr + full.stderr
        assert set(fast.stdout.split()) == set(full.stdout.split()) == wanted


def test_static_tree_declares_the_by_completion() -> None:
    from glm_image_cli.cli.entry import STATIC_PATH

    tree = json.loads(Path(STATIC_PATH).read_text(encoding="utf-8"))
    assert "\"complete\": \"usage_by\"" in json.dumps(tree)


# --- the --enhance chat call ----------------------------------------------------------------------------------

def test_a_free_chat_model_records_nothing(cli, fake) -> None:
    assert cli("generate", "a cat", "--enhance", "-o", "out").exit_code == 0
    assert fake.count(CHAT_ROUTE) == 1
    assert [row.command for row in entries()] == ["generate"]


def test_a_priced_chat_model_is_recorded(cli, fake, isolated: Path) -> None:
    write_config(isolated, '[prices]\n"glm-4-flash-250414" = 0.01\n')
    assert cli("generate", "a cat", "--enhance", "-o", "out").exit_code == 0
    assert cli("enhance", "a dog").exit_code == 0
    rows = entries()
    assert [(row.command, row.model, row.outcome) for row in rows] == [
        ("enhance", "glm-4-flash-250414", "saved"), ("generate", "cogview-4-250304", "saved"),
        ("enhance", "glm-4-flash-250414", "saved")]
    assert fake.count(CHAT_ROUTE) == 2
    groups = {group["key"]: group for group in usage(cli, "--by", "command")["groups"]}
    assert groups["enhance"]["estimated_cost"] == pytest.approx(0.02) and groups["enhance"]["billed"] == 2
    # a cached rewrite makes no call and records nothing
    assert cli("enhance", "a dog").exit_code == 0 and len(entries()) == 3


def test_a_refused_chat_call_is_recorded_but_not_counted(cli, fake, isolated: Path) -> None:
    write_config(isolated, '[prices]\n"glm-4-flash-250414" = 0.01\n')
    fake.script(CHAT_ROUTE, Reply.error(400, "1301", "unsafe"))
    assert cli("enhance", "a dog").exit_code != 0
    assert [(row.command, row.outcome, row.counted) for row in entries()] == [("enhance", "refused", False)]


def test_a_priced_chat_call_over_budget_is_not_sent(cli, fake, isolated: Path) -> None:
    write_config(isolated, 'budget-daily = 0.005\n[prices]\n"glm-4-flash-250414" = 0.01\n')
    result = cli("enhance", "a dog")
    assert result.exit_code == 14, result.stderr
    assert fake.count(CHAT_ROUTE) == 0 and entries() == []


def test_batch_enhance_records_each_priced_chat_call(cli, fake, isolated: Path) -> None:
    write_config(isolated, '[prices]\n"glm-4-flash-250414" = 0.01\n')
    prompts(3)
    assert cli("batch", "p.txt", "--enhance", "-o", "out", "--yes").exit_code == 0
    rows = entries()
    assert sorted(row.command for row in rows) == ["batch"] * 3 + ["enhance"] * 3
    assert fake.count(CHAT_ROUTE) == 3 and fake.count(SYNC_ROUTE) == 3


# --- rows never settled ---------------------------------------------------------------------------------------

def _pending_row(pid: int | None) -> None:
    ledger = Ledger()
    try:
        entry = ledger.reserve(hold=None, command="batch", model="glm-image", cost=0.1, priced=True, currency="CNY",
                               budgets=Budgets())
        ledger._connect().execute("UPDATE spend SET pid = ? WHERE id = ?", (pid, entry))
    finally:
        ledger.close()


def test_a_row_left_pending_by_a_killed_process_is_labelled_may_have_been_billed(cli) -> None:
    _pending_row(DEAD_PID)
    report = usage(cli)
    assert report["totals"]["billed"] == 1 and report["totals"]["estimated_cost"] == pytest.approx(0.1)  # counted
    assert report["totals"]["may_have_been_billed"] == {"uncertain": 0, "stopped": 1, "in_progress": 0}
    text = cli("usage")
    assert "never settled" in text.stderr and "may have been billed" in text.stderr
    assert "in progress" not in text.stderr
    assert entries()[0].stopped


def test_a_row_pending_in_a_live_process_is_in_progress(cli) -> None:
    import os

    _pending_row(os.getpid())
    report = usage(cli)
    assert report["totals"]["may_have_been_billed"] == {"uncertain": 0, "stopped": 0, "in_progress": 1}
    assert "still in progress" in cli("usage").stderr
    assert not entries()[0].stopped


def test_readme_documents_the_prices_table_with_its_date() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert "[prices]" in readme and f"checked {PRICES_AS_OF}" in readme


def test_liveness_on_windows_never_sends_a_signal(monkeypatch: pytest.MonkeyPatch) -> None:
    from glm_image_cli.core import ledger

    def no_kill(*args: object) -> None:
        raise AssertionError("os.kill(pid, 0) is CTRL_C_EVENT on Windows")

    monkeypatch.setattr(ledger.os, "kill", no_kill)
    monkeypatch.setattr(ledger, "_alive_on_windows", lambda pid: pid == 7)
    monkeypatch.setattr(ledger.os, "name", "nt")
    alive, dead = ledger._alive(7), ledger._alive(DEAD_PID)
    monkeypatch.undo()
    assert alive and not dead
    assert ledger._alive_on_windows(DEAD_PID)  # not on Windows here: unsure, so alive (stays counted)
