"""One referral from application to reward receipt, in the sandbox page in real headless
Chromium: HR moves the candidate through Hire's stages in the tenant panel, the referrer reads
the news in their one-to-one chat, the hire lands as a card in the HR group, one admin fills in
its Reward form and another approves; the card becomes the receipt."""

from __future__ import annotations

import re

from bot.sandbox import Sandbox
from tests.e2e.conftest import NO_CHROMIUM, open_as_hr_admin

pytestmark = NO_CHROMIUM


def test_a_referral_from_application_to_reward_receipt(sandbox: Sandbox, browser_page) -> None:
    from playwright.sync_api import expect

    page = browser_page
    errors = open_as_hr_admin(page, sandbox)
    cards = page.get_by_test_id("bot-message")

    # Wang Wei gets a referral account (HR registers him; `show` reads who holds it).
    composer = page.get_by_test_id("composer")
    composer.fill("/referral register wang.wei@open.com")
    composer.press("Enter")
    registered = cards.filter(has_text="Account registered")
    expect(registered).to_have_count(1)
    account_id = re.search(r"\d{19}", registered.inner_text()).group(0)
    composer.fill(f"/referral show {account_id}")
    composer.press("Enter")
    expect(cards).to_have_count(3)

    # He refers Zhao Liu; HR moves the candidate to the interview in Hire.
    page.locator("[data-tab=referrals]").click()
    panel = page.get_by_test_id("referrals")
    panel.get_by_test_id("referrer").select_option("ou_colleague")
    panel.get_by_test_id("candidate").fill("Zhao Liu")
    panel.get_by_test_id("job").fill("Backend engineer")
    panel.get_by_role("button", name="Refer").click()
    application = panel.get_by_test_id("application").filter(has_text="Zhao Liu")
    expect(application).to_have_count(1)
    expect(application.get_by_test_id("stage-now")).to_have_text("Resume screening")
    application.get_by_test_id("stage").select_option(label="Interview")
    application.get_by_test_id("move").click()
    expect(page.get_by_test_id("toast").filter(has_text="Moved")).to_be_visible()
    expect(application.get_by_test_id("stage-now")).to_have_text("Interview")

    # Wang Wei reads it in his one-to-one chat, within the batch window.
    page.select_option("#person", "ou_colleague")
    news = cards.filter(has_text="News of the people you referred")
    expect(news).to_have_count(1, timeout=15_000)
    expect(news).to_contain_text("Zhao Liu, Backend engineer: now at Interview")

    # He is hired: the HR group gets the card, with the referrer's account and a Reward button.
    page.select_option("#person", "ou_hr_admin")
    page.locator("[data-chat=group]").click()
    application.get_by_test_id("stage").select_option(label="Onboarded")
    application.get_by_test_id("move").click()
    hired = cards.filter(has_text="Referral hired")
    expect(hired).to_have_count(1, timeout=15_000)
    expect(hired).to_contain_text("Zhao Liu")
    expect(hired).to_contain_text(account_id)
    hired.get_by_role("button", name="Reward").click()
    form = hired.get_by_test_id("card-form")
    expect(form.get_by_test_id("input-amount")).to_have_value("2000")
    form.get_by_test_id("input-amount").fill("3000")
    form.get_by_role("button", name="Ask for approval").click()
    expect(
        page.get_by_test_id("toast").filter(has_text="another admin must approve")
    ).to_be_visible()
    titled = lambda title: cards.filter(  # noqa: E731
        has=page.locator(".card-title").filter(has_text=re.compile(f"^{title}$"))
    )
    request = titled("Reward request")
    expect(request).to_have_count(1)
    expect(request).to_contain_text("3,000 points")

    # Li Na approves: one import into Hire, and the card becomes the receipt.
    page.select_option("#person", "ou_hr_approver")
    expect(page.locator("#chat-name")).to_have_text("HR group")
    request.get_by_role("button", name="Approve").click()
    receipt = titled("Reward receipt")
    expect(receipt).to_have_count(1, timeout=15_000)
    (reward,) = sandbox.world.emulator.external_rewards()
    expect(receipt).to_contain_text(reward["external_id"])
    expect(receipt).to_contain_text("Balance now")
    assert (reward["points"], reward["rule_type"], reward["stage"]) == (3000, 1, 2)
    assert reward["referrer_open_id"] == "ou_colleague"
    assert errors == []
