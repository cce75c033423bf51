"""What a run will cost and whether the user agreed: the one place the consent rule lives.

Every front end asks the same question the same way: the estimate (images and --enhance chat calls, from the
one price table), compared with the ``confirm-above`` threshold.  Below it, or free, nothing is asked.  Above it,
the front end's ``consent`` callable decides (a terminal question, ``--yes``, MCP's ``allow_spend``); with no
callable the run is refused before anything is sent, as a non-interactive run without ``--yes`` is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from glm_image_cli.errors import SpendDeclined, UsageError
from glm_image_cli.messages import Text

if TYPE_CHECKING:
    from glm_image_cli.storage.config import ResolvedConfig


@dataclass(frozen=True)
class Estimate:
    """What a run may cost, before anything is sent.  ``unknown_*``: calls whose price is not known (counted 0)."""

    images: Mapping[str, int]  # image model -> images to make
    total: float
    currency: str
    threshold: float  # the `confirm-above` setting
    chats: Mapping[str, int] = field(default_factory=dict)  # --enhance chat model -> calls to make
    unknown_images: int = 0
    unknown_chats: int = 0

    @property
    def image_count(self) -> int:
        return sum(self.images.values())

    @property
    def needs_consent(self) -> bool:
        """Above the threshold and not free: the user is asked (or the run refused)."""
        return self.total > 0 and self.total > self.threshold

    def to_json(self) -> dict[str, object]:
        return {"images": dict(self.images), "chats": dict(self.chats), "estimated_cost": round(self.total, 4),
                "currency": self.currency, "unknown_price_images": self.unknown_images,
                "unknown_price_chats": self.unknown_chats, "confirm_above": self.threshold}


Consent = Callable[[Estimate], bool]


def always(_: Estimate) -> bool:
    """``--yes``: consent given in advance."""
    return True


def question(estimate: Estimate) -> Text:
    """The spend question every front end asks, in the user's language when rendered."""
    models = ", ".join(estimate.images)
    if not estimate.chats:
        return Text("spend_question", images=estimate.image_count, models=models, cost=estimate.total,
                    currency=estimate.currency)
    unknown = Text("spend_unknown_chat", count=estimate.unknown_chats) if estimate.unknown_chats else ""
    return Text("spend_question_enhance", images=estimate.image_count, models=models,
                chats=sum(estimate.chats.values()), chat_models=", ".join(estimate.chats), cost=estimate.total,
                currency=estimate.currency, unknown=unknown)


def check_consent(estimate: Estimate, consent: Consent | None, *, refusal: str = "spend_needs_yes") -> None:
    """Nothing to ask, or the user agreed; else SpendDeclined (they said no) or the one-line refusal that names
    ``--yes`` (no way to ask).  A consent callable may raise its own refusal (MCP names ``allow_spend``)."""
    if not estimate.needs_consent:
        return
    if consent is None:
        raise UsageError(refusal, cost=estimate.total, currency=estimate.currency, limit=estimate.threshold)
    if not consent(estimate):
        raise SpendDeclined("spend_declined")


def estimate_run(settings: ResolvedConfig, images: Mapping[str, int], chats: Mapping[str, int] | None = None,
                 ) -> Estimate:
    """The estimate of ``images`` ({model: count}) and ``chats`` ({chat model: calls}) from the one price table
    (with the settings' ``[prices]``), against the settings' threshold."""
    from glm_image_cli.backends.registry import backend_named
    from glm_image_cli.core.pricing import estimate, estimate_chats

    backend = backend_named(settings.backend)  # its price rule: the one the ledger and the budgets use
    total, currency, unknown = estimate(images, settings.region, settings.prices, backend=backend)
    chat_total, unknown_chats = estimate_chats(chats, settings.region, settings.prices, backend=backend) \
        if chats else (0.0, 0)
    return Estimate(images={model: count for model, count in images.items() if count}, total=total + chat_total,
                    currency=currency, threshold=settings.confirm_above, chats=dict(chats or {}),
                    unknown_images=unknown, unknown_chats=unknown_chats)
