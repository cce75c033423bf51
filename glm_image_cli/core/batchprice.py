"""What an image costs through the platform's Batch API: half the image price, from the same dated table.

One rule for the estimate, the consent question, the budgets and the ledger: ``[prices]`` may name a model's
batch price as ``"batch:<model>"``; otherwise it is ``BATCH_DISCOUNT`` times the image price (which itself honours
``[prices]`` for the model, then the reference table of pricing.PRICES_AS_OF).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from glm_image_cli.backends.base import Backend
    from glm_image_cli.core.consent import Estimate
    from glm_image_cli.core.ledger import Spending
    from glm_image_cli.storage.config import ResolvedConfig

BATCH_DISCOUNT = 0.5  # "50% of the normal price" (docs.bigmodel.cn guide tools/batch)
PRICE_PREFIX = "batch:"


def batch_price(model: str, region: str, prices: Mapping[str, float], backend: Backend) -> float | None:
    """One image's estimated Batch API price in the region's currency, None when unknown."""
    override = (prices or {}).get(PRICE_PREFIX + model.strip().lower())
    if override is not None:
        return float(override)
    price = backend.unit_price(model, region, prices or {})
    return None if price is None else round(price * BATCH_DISCOUNT, 6)


class BatchPriced:
    """A backend whose images cost the Batch API price: given to the ledger's Spending, so the budgets and the
    ledger count what consent showed.  Everything else is the backend's own."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)

    def unit_price(self, model: str, region: str, prices: Mapping[str, float]) -> float | None:
        return batch_price(model, region, prices, self._backend)


def batch_estimate(settings: ResolvedConfig, images: Mapping[str, int],
                   chats: Mapping[str, int] | None = None) -> Estimate:
    """consent.estimate_run at the Batch API price (the --enhance chat calls are not batched: their own price)."""
    from dataclasses import replace

    from glm_image_cli.backends.registry import backend_named
    from glm_image_cli.core.consent import estimate_run
    from glm_image_cli.core.pricing import estimate

    chat_part = estimate_run(settings, {}, chats)
    total, _, unknown = estimate(images, settings.region, settings.prices, backend=backend_named(settings.backend),
                                 price_of=batch_price)
    return replace(chat_part, images={model: count for model, count in images.items() if count},
                   total=chat_part.total + total, unknown_images=unknown)


def batch_spending(spending: Spending) -> Spending:
    """The same ledger, budgets and command, with images at the batch price."""
    from dataclasses import replace

    return replace(spending, backend=BatchPriced(spending.backend))  # type: ignore[arg-type]
