"""Estimated cost, for --dry-run, spend consent, the ledger and the budgets: one price rule, the backend's.

Every price comes from ``Backend.unit_price`` (BigModel: the ``[prices]`` override, else the reference table;
an OpenAI-compatible server: free unless ``[prices]`` names the model), so what consent shows is what the ledger
records and the budgets count.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from glm_image_cli.backends.base import Backend

# When the reference prices (models.MODELS: price_cny, price_usd) were last checked against the platform's
# price pages.  The ledger's figures are estimates from this table, never the platform's bill.
PRICES_AS_OF = "2026-11"

PriceRule = Callable[[str, str, Mapping[str, float], "Backend"], "float | None"]


def unit_price(model: str, region: str, prices: Mapping[str, float] | None, backend: Backend) -> float | None:
    """The price of one image (or one call, for a chat model) in the region's currency, None when unknown."""
    return backend.unit_price(model, region, prices or {})


def currency_of(region: str) -> str:
    """Z.ai bills USD, bigmodel.cn CNY (a self-hosted server's [prices] are read in the same currency)."""
    return "USD" if region == "intl" else "CNY"


def estimate(images_per_model: Mapping[str, int], region: str, prices: Mapping[str, float] | None = None, *,
             backend: Backend, price_of: PriceRule = unit_price) -> tuple[float, str, int]:
    """(estimated cost, currency, calls of unknown price).
    ``prices``: the config file's overrides (``cfg.prices``: model, lower case -> price in that currency);
    ``backend``: whose price rule (``backend_named(cfg.backend)``), required so no caller falls back to another's;
    ``price_of``: one call's price (chat rewrites pass their own, which knows the free chat models)."""
    total, unknown = 0.0, 0
    for model, count in images_per_model.items():
        price = price_of(model, region, prices or {}, backend)
        if price is None:
            unknown += count
        else:
            total += price * count
    return total, currency_of(region), unknown


# The chat models that rewrite prompts (--enhance) for free (platform model overview); others are priced by the
# backend's rule unless the config's [prices] names them.
FREE_CHAT_MODELS = frozenset({"glm-4-flash-250414", "glm-4.7-flash", "glm-4-flash",
                              "glm-4.6v-flash", "glm-4.1v-thinking-flash", "glm-4v-flash"})  # and the free vision ones


def chat_price(model: str, region: str, prices: Mapping[str, float] | None, backend: Backend) -> float | None:
    """The estimated price of one rewrite: the config's ``[prices]`` override when it names the model, else 0 for
    the free chat models, else the backend's rule (BigModel: unknown, None; a self-hosted server: free)."""
    if model in FREE_CHAT_MODELS and not (prices and model.strip().lower() in prices):
        return 0.0
    return unit_price(model, region, prices, backend)


def estimate_chats(calls: Mapping[str, int], region: str = "cn", prices: Mapping[str, float] | None = None, *,
                   backend: Backend) -> tuple[float, int]:
    """(estimated cost, rewrites of unknown price) of the chat calls ``{model: count}``, for spend consent."""
    total, _, unknown = estimate(calls, region, prices, backend=backend, price_of=chat_price)
    return total, unknown
