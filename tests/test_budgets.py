"""Budgets that hold whatever the model, the time zone or the retries: each test counts the calls the fake upstream
was asked to make (what was paid) against what the ledger counts, so nothing is paid beyond a budget unseen."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx
import pytest

from glm_image_cli.backends.bigmodel import BigModelClient
from glm_image_cli.core.ledger import Ledger
from glm_image_cli.core.studio import Studio
from glm_image_cli.errors import BudgetExceeded
from glm_image_cli.serve.server import GlmImageHTTPServer, ImageService, ServeOptions
from tests.conftest import serve_studio
from tests.fake_bigmodel import DEFAULT_KEY, SYNC_ROUTE


def entries() -> list:
    ledger = Ledger()
    try:
        return ledger.entries()
    finally:
        ledger.close()


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
