"""Estimated cost from the reference price table, for --dry-run and spend consent."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from glm_image_cli.backends import models

# When the reference prices (models.MODELS: price_cny, price_usd) were last checked against the platform's
# price pages.  The ledger's figures are estimates from this table, never the platform's bill.
PRICES_AS_OF = "2026-11"
# The chat models that rewrite prompts (--enhance) for free (platform model overview); others are unpriced unless
# the config's [prices] names them.
FREE_CHAT_MODELS = frozenset({"glm-4-flash-250414", "glm-4.7-flash", "glm-4-flash"})


def unit_price(model: str, region: str, prices: Mapping[str, float] | None = None) -> float | None:
    """The price of one image (or one call, for a chat model) in the region's currency: the config file's
    ``[prices]`` override when it names the model, else the reference table; None when unknown."""
    name = model.strip().lower()
    if prices and name in prices:
        return float(prices[name])
    spec = models.find_model(model)
    if spec is None:
        return None
    return spec.price_usd if region == "intl" else spec.price_cny


def estimate(images_per_model: Mapping[str, int], region: str, prices: Mapping[str, float] | None = None, *,
             price_of: Callable[[str, str, Mapping[str, float] | None], float | None] = unit_price,
             ) -> tuple[float, str, int]:
    """(estimated cost, currency, calls of unknown price).  Z.ai bills USD, bigmodel.cn CNY.
    ``prices``: the config file's overrides (``cfg.prices``: model, lower case -> price in that currency);
    ``price_of``: one call's price (chat rewrites pass their own, which knows the free chat models)."""
    currency = "USD" if region == "intl" else "CNY"
    total, unknown = 0.0, 0
    for model, count in images_per_model.items():
        price = price_of(model, region, prices)
        if price is None:
            unknown += count
        else:
            total += price * count
    return total, currency, unknown


def chat_price(model: str, region: str = "cn", prices: Mapping[str, float] | None = None) -> float | None:
    """The estimated price of one rewrite: the config's ``[prices]`` override when it names the model, else 0 for
    the free chat models and None (unknown) for any other."""
    if model in FREE_CHAT_MODELS and not (prices and model.strip().lower() in prices):
        return 0.0
    return unit_price(model, region, prices)


def estimate_chats(calls: Mapping[str, int], region: str = "cn",
                   prices: Mapping[str, float] | None = None) -> tuple[float, int]:
    """(estimated cost, rewrites of unknown price) of the chat calls ``{model: count}``, for spend consent."""
    total, _, unknown = estimate(calls, region, prices, price_of=chat_price)
    return total, unknown
