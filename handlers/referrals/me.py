"""The `me` card's part about the asker's referrals (no Open API call: the records)."""

from __future__ import annotations

from cards.referrals import me_section
from handlers.services import Services

ME_SHOWN = 5


def with_referrals(services: Services, open_id: str | None, card: dict) -> dict:
    """The card with the asker's referrals' current stages appended (nothing when none)."""
    if not open_id:
        return card
    items, total = services.referrals.of_referrer(open_id, limit=ME_SHOWN)
    card.setdefault("body", {}).setdefault("elements", []).extend(
        me_section(items, total, services.settings.digest_tz)
    )
    return card
