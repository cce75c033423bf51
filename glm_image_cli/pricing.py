"""Estimated cost from the reference price table, for --dry-run and spend consent."""

from __future__ import annotations

from collections.abc import Mapping

from glm_image_cli import models

# When the reference prices (models.MODELS: price_cny, price_usd) were last checked against the platform's
# price pages.  The ledger's figures are estimates from this table, never the platform's bill.
PRICES_AS_OF = "2026-11"


def estimate(images_per_model: Mapping[str, int], region: str) -> tuple[float, str, int]:
    """(estimated cost, currency, images of unknown price).  Z.ai bills USD, bigmodel.cn CNY."""
    currency = "USD" if region == "intl" else "CNY"
    total, unknown = 0.0, 0
    for model, count in images_per_model.items():
        spec = models.find_model(model)
        price = None if spec is None else (spec.price_usd if currency == "USD" else spec.price_cny)
        if price is None:
            unknown += count
        else:
            total += price * count
    return total, currency, unknown
