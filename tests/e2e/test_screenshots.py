"""Screenshots of the sandbox page's cards, each in English and in Chinese: the account list, the
digest with its charts, the audit trail, a balance notice, an account card and the help a
non-admin gets. Each view is built on one sandbox and one page (the language switched on it),
and checked before it is taken. The pictures go to docs/screenshots/ only with
UPDATE_SCREENSHOTS=1; otherwise into a temporary folder, so a run is the check that every view
renders in both languages and leaves the working tree as it was."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from bot.sandbox import Sandbox
from tests.e2e.conftest import NO_CHROMIUM, chromium_page

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
UPDATE_SCREENSHOTS = os.environ.get("UPDATE_SCREENSHOTS") == "1"
LANGUAGES = {"en_us": "en", "zh_cn": "zh"}
# Each view's card title in each language, as the card says it.
TITLES = {
    "notice": {"en_us": "Referral balances changed", "zh_cn": "内推余额变动"},
    "digest": {"en_us": "Referral accounts digest", "zh_cn": "内推账户摘要"},
    "audit": {"en_us": "Audit trail", "zh_cn": "审计记录"},
    "list": {"en_us": "Referral accounts", "zh_cn": "内推账户列表"},
    "account": {"en_us": "Referral account", "zh_cn": "内推账户"},
    "help-staff": {"en_us": "referral-bot help", "zh_cn": "使用帮助"},
}
# Toasts fade out after a few seconds; the pictures leave them out rather than wait for them.
NO_TOASTS = "#toasts { display: none !important; }"

pytestmark = NO_CHROMIUM


@pytest.fixture
def page():
    with chromium_page(1280) as page:
        yield page


def titled(page: Page, title: str) -> Locator:
    """The bot's cards whose title is exactly `title` ("Referral account" is not the list's)."""
    exact = re.compile(f"^{re.escape(title)}$")
    return page.get_by_test_id("bot-message").filter(
        has=page.locator(".card-title").filter(has_text=exact)
    )


def pinned(page: Page, card: Locator) -> Locator:
    """The same message by its id: the page redraws every card when the language changes."""
    message_id = card.get_attribute("data-id")
    return page.locator(f"[data-testid=bot-message][data-id='{message_id}']")


def answer(page: Page, command: str, title: str) -> Locator:
    """Type `command`; the new card titled `title` that the bot answers with."""
    cards = titled(page, title)
    before = cards.count()
    composer = page.get_by_test_id("composer")
    composer.fill(command)
    composer.press("Enter")
    expect(cards).to_have_count(before + 1)
    return pinned(page, cards.last)


def shoot(page: Page, card: Locator, view: str, folder: Path) -> list[Path]:
    """The card at the top of the chat, in English then in Chinese, each checked first: the
    title and the page's own words in that language, none of the other's title."""
    taken = []
    for lang, suffix in LANGUAGES.items():
        page.click(f"[data-lang={lang}]")
        other = TITLES[view]["zh_cn" if lang == "en_us" else "en_us"]
        expect(card.locator(".card-title")).to_have_text(TITLES[view][lang])
        expect(card).not_to_contain_text(other)
        expect(page.locator("[data-i18n=send]")).to_have_text("Send" if suffix == "en" else "发送")
        card.evaluate("card => card.scrollIntoView({block: 'start'})")
        path = folder / f"{view}-{suffix}.png"
        page.screenshot(path=str(path), animations="disabled", style=NO_TOASTS)
        assert path.read_bytes().startswith(b"\x89PNG") and path.stat().st_size > 10_000
        taken.append(path)
    page.click("[data-lang=en_us]")
    return taken


def test_every_view_renders_in_english_and_in_chinese(
    sandbox: Sandbox, page: Page, tmp_path: Path
) -> None:
    folder = SCREENSHOTS if UPDATE_SCREENSHOTS else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(sandbox.url)
    page.click("[data-lang=en_us]")
    expect(page.locator("#person")).to_have_value("ou_hr_admin")
    page.locator("[data-chat=group]").click()
    expect(page.locator("#chat-name")).to_have_text("HR group")
    accounts = {a["open_id"]: a["account_id"] for a in sandbox.tenant.accounts()}
    chen, zhao = accounts["ou_chen"], accounts["ou_zhao"]
    taken: list[Path] = []

    # A scheduled digest, a bonus for Chen Jing (its notice lands in the HR group), and a
    # second digest: two scheduled totals make the charts.
    digests = titled(page, TITLES["digest"]["en_us"])
    page.locator("#post-digest").click()
    expect(digests).to_have_count(1)
    bonus = page.locator(f"[data-account='{chen}']")
    bonus.locator(".in-points").fill("800")
    bonus.locator(".in-amount").fill("450")
    bonus.get_by_role("button", name="Add bonus").click()
    notices = titled(page, TITLES["notice"]["en_us"])
    expect(notices).to_have_count(1, timeout=15_000)
    notice = pinned(page, notices.first)
    expect(notice).to_contain_text("Change: +800 points · +CNY 450.00")
    taken += shoot(page, notice, "notice", folder)

    page.locator("#post-digest").click()
    expect(digests).to_have_count(2)
    digest = pinned(page, digests.last)
    expect(digest.get_by_test_id("card-chart").locator("svg")).to_have_count(3)
    taken += shoot(page, digest, "digest", folder)

    # Li Hua asks to withdraw Zhao Lei's balance, is refused approving it herself, and Li Na
    # approves it: the three entries the audit trail then starts with.
    request = answer(page, f"/referral withdraw {zhao}", "Withdrawal request")
    request.get_by_role("button", name="Approve").click()
    refusal = "Someone other than the requester must approve"
    expect(page.get_by_test_id("toast").filter(has_text=refusal)).to_be_visible()
    page.select_option("#person", "ou_hr_approver")
    expect(page.locator("#chat-name")).to_have_text("HR group")
    request.get_by_role("button", name="Approve").click()
    expect(request.locator(".card-title")).to_have_text("Withdrawal receipt", timeout=15_000)

    audit = answer(page, "/referral audit", TITLES["audit"]["en_us"])
    for entry in ("requested a withdrawal", "approved", "⛔"):
        expect(audit).to_contain_text(entry)
    taken += shoot(page, audit, "audit", folder)

    listed = answer(page, "/referral list", TITLES["list"]["en_us"])
    for account_id in accounts.values():
        expect(listed).to_contain_text(account_id)
    taken += shoot(page, listed, "list", folder)

    shown = answer(page, f"/referral show {chen}", TITLES["account"]["en_us"])
    expect(shown).to_contain_text("2,000 points")
    expect(shown.get_by_role("button", name="Refresh")).to_be_visible()
    taken += shoot(page, shown, "account", folder)

    # Wang Wei, who is not an admin, asks for help in his one-to-one chat: only what he may do.
    page.select_option("#person", "ou_colleague")
    page.locator("[data-chat=p2p]").click()
    expect(page.locator("#chat-name")).to_have_text("referral-bot")
    expect(titled(page, TITLES["help-staff"]["en_us"])).to_have_count(1)  # the welcome
    helped = answer(page, "/referral help", TITLES["help-staff"]["en_us"])
    expect(helped).to_contain_text("/referral me")
    expect(helped).not_to_contain_text("/referral register")
    taken += shoot(page, helped, "help-staff", folder)

    assert sorted(p.name for p in taken) == sorted(
        f"{view}-{suffix}.png" for view in TITLES for suffix in LANGUAGES.values()
    )
    assert errors == []
