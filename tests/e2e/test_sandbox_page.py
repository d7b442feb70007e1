"""The sandbox page in real headless Chromium: register, show, disable with confirmation; register
by @-mention with the picker, and a non-admin's own account from the bot menu; a withdrawal asked
for by one admin and approved by another, turning into the receipt; a bonus added in the tenant
panel landing as a notice in the HR group, and someone leaving the company; two digests posted
from the tenant panel, the second with its chart of the totals (the README's screenshot)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from bot.sandbox import Sandbox
from tests.e2e.conftest import NO_CHROMIUM, open_as_hr_admin

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "sandbox.png"
# The committed screenshot is rewritten only on request (or when missing): every run would
# otherwise leave a changed image in everyone's working tree.
UPDATE_SCREENSHOT = os.environ.get("UPDATE_SCREENSHOT") == "1" or not SCREENSHOT.exists()

pytestmark = NO_CHROMIUM


def test_register_show_and_disable_an_account_in_the_browser(
    sandbox: Sandbox, browser_page
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    # Opening the one-to-one chat tells the bot, which welcomes the person with the usage card.
    errors = open_as_hr_admin(page, sandbox)
    cards = page.get_by_test_id("bot-message")

    composer = page.get_by_test_id("composer")
    composer.fill("/referral register hire@open.com")
    composer.press("Enter")
    registered = page.get_by_test_id("bot-message").filter(has_text="Account registered")
    expect(registered).to_have_count(1)
    account_id = re.search(r"\d{19}", registered.get_by_test_id("card").inner_text()).group(0)
    assert sandbox.world.emulator.account(account_id)["status"] == 1

    composer.fill(f"/referral show {account_id}")
    composer.press("Enter")
    expect(cards).to_have_count(3)
    shown = cards.nth(2)
    expect(shown.get_by_test_id("text-tag")).to_have_text("Enabled")

    shown.get_by_role("button", name="Disable").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Disable this referral account?")
    dialog.get_by_role("button", name="Confirm").click()

    expect(page.get_by_test_id("toast").filter(has_text="Account disabled")).to_be_visible()
    expect(shown.get_by_test_id("text-tag")).to_have_text("Disabled")
    expect(shown.get_by_role("button", name="Enable")).to_be_visible()
    assert sandbox.world.emulator.account(account_id)["status"] == 2
    # The first card showing the account follows by a PATCH the page only sees by polling.
    expect(cards.nth(1).get_by_test_id("text-tag")).to_have_text("Disabled")
    # The tenant panel shows the emulator's side of it too.
    account = page.locator(f"[data-account='{account_id}']")
    expect(account).to_contain_text("Disabled")
    assert errors == []


def test_register_by_mention_then_my_account_from_the_bot_menu(
    sandbox: Sandbox, browser_page
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(sandbox.url)
    page.click("[data-lang=en_us]")
    expect(page.locator("#person")).to_have_value("ou_hr_admin")
    cards = page.get_by_test_id("bot-message")
    expect(cards.filter(has_text="referral-bot help")).to_have_count(1)

    # The admin registers Wang Wei (the page's non-admin) by @-mentioning him with the picker.
    composer = page.get_by_test_id("composer")
    composer.fill("/referral register ")
    page.get_by_test_id("mention-button").click()
    picker = page.get_by_test_id("mention-picker")
    expect(picker).to_be_visible()
    expect(picker.get_by_test_id("mention-option").filter(has_text="Zhang San")).to_be_visible()
    composer.press_sequentially("Wang")
    options = picker.get_by_test_id("mention-option")
    expect(options).to_have_count(1)
    options.first.click()
    expect(picker).to_be_hidden()
    expect(composer).to_have_value("/referral register @Wang Wei ")
    composer.press("Enter")

    said = page.get_by_test_id("user-message").last
    expect(said).to_have_text("/referral register @Wang Wei")
    expect(said.get_by_test_id("mention")).to_have_text("@Wang Wei")
    registered = cards.filter(has_text="Account registered")
    expect(registered).to_have_count(1)
    expect(registered).to_contain_text("wang.wei@open.com")
    account_id = re.search(r"\d{19}", registered.inner_text()).group(0)
    assert sandbox.world.emulator.account(account_id)["open_id"] == "ou_colleague"
    # The bot menu belongs to the one-to-one chat only.
    menu = page.get_by_test_id("bot-menu")
    expect(menu).to_be_visible()
    page.locator("[data-chat=group]").click()
    expect(menu).to_be_hidden()

    # Wang Wei opens his own one-to-one chat: his welcome, then "My account" from the menu.
    page.select_option("#person", "ou_colleague")
    page.locator("[data-chat=p2p]").click()
    expect(menu).to_be_visible()
    expect(cards.filter(has_text="referral-bot help")).to_have_count(1)
    expect(cards).to_have_count(1)
    menu.get_by_role("button", name="My account").click()

    expect(page.get_by_test_id("menu-note")).to_have_text(
        "Wang Wei (not an admin) chose “My account” from the bot menu"
    )
    own = cards.filter(has_text=account_id)
    expect(own).to_have_count(1)
    expect(own.get_by_test_id("text-tag")).to_have_text("Enabled")
    expect(own.get_by_role("button")).to_have_count(0)  # read-only: no buttons
    # The bot sent it to his open_id; the emulator filed it in the chat the page shows.
    chat = sandbox.world.emulator.p2p_chat_id("ou_colleague")
    (answer,) = [
        m for m in sandbox.world.emulator.messages_in(chat) if account_id in str(m.content)
    ]
    assert answer.receive_id_type == "open_id"
    assert errors == []


def test_one_admin_asks_to_withdraw_and_another_approves_the_receipt_in_place(
    sandbox: Sandbox, browser_page
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(sandbox.url)
    page.click("[data-lang=en_us]")
    expect(page.locator("#person")).to_have_value("ou_hr_admin")
    expect(page.locator("#person option")).to_have_text(
        ["Li Hua (HR admin)", "Wang Wei (not an admin)", "Li Na (HR admin, approver)"]
    )
    cards = page.get_by_test_id("bot-message")
    expect(cards.filter(has_text="referral-bot help")).to_have_count(1)

    # Li Hua registers Zhang San; a bonus is paid in through the tenant panel.
    composer = page.get_by_test_id("composer")
    composer.fill("/referral register hire@open.com")
    composer.press("Enter")
    registered = cards.filter(has_text="Account registered")
    expect(registered).to_have_count(1)
    account_id = re.search(r"\d{19}", registered.inner_text()).group(0)
    account = page.locator(f"[data-account='{account_id}']")
    account.locator(".in-points").fill("500")
    account.get_by_role("button", name="Add bonus").click()
    expect(page.get_by_test_id("toast").filter(has_text="Bonus added")).to_be_visible()
    expect(account.get_by_test_id("points")).to_have_text("500")

    # She asks in the HR group, where the other admin sees the request. Feishu told the bot of
    # the bonus: its notice comes first (so the cards counted below stay put).
    page.locator("[data-chat=group]").click()
    expect(cards.filter(has_text="Referral balances changed")).to_have_count(1, timeout=15_000)
    account.get_by_test_id("withdraw-in-chat").click()
    expect(composer).to_have_value(f"/referral withdraw {account_id}")
    composer.press("Enter")
    request = cards.filter(has_text="Withdrawal request")
    expect(request).to_have_count(1)
    message_id = request.get_attribute("data-id")
    bubble = page.locator(f"[data-testid=bot-message][data-id='{message_id}']")
    expect(bubble).to_contain_text("500 points")
    # <at id=ou_hr_admin></at> shows as the person's name, not as markup or an id.
    expect(bubble.get_by_test_id("mention")).to_have_text(["@Li Hua"])
    expect(bubble).not_to_contain_text("<at")

    # Approving her own request is refused with a toast; the card stays the request.
    bubble.get_by_role("button", name="Approve").click()
    refusal = "Someone other than the requester must approve"
    expect(page.get_by_test_id("toast").filter(has_text=refusal)).to_be_visible()
    expect(bubble.locator(".card-title")).to_have_text("Withdrawal request")
    assert not sandbox.world.emulator.calls_for("withdraw")

    # Li Na, the second admin, approves in the same group: the card becomes the receipt.
    page.select_option("#person", "ou_hr_approver")
    expect(page.locator("#chat-name")).to_have_text("HR group")
    expect(bubble.get_by_role("button", name="Approve")).to_be_visible()
    cards_before = cards.count()
    bubble.get_by_role("button", name="Approve").click()

    expect(bubble.locator(".card-title")).to_have_text("Withdrawal receipt", timeout=15_000)
    expect(bubble.locator(".card-header")).to_have_class(re.compile(r"\btpl-green\b"))
    expect(bubble).to_contain_text("Recorded by Feishu")
    expect(bubble.get_by_test_id("mention")).to_have_text(["@Li Hua", "@Li Na"])
    expect(bubble.get_by_role("button")).to_have_count(0)
    (withdraw,) = sandbox.world.emulator.calls_for("withdraw")
    expect(bubble).to_contain_text(withdraw.body["external_order_id"])
    expect(cards).to_have_count(cards_before)  # in place: no new message
    # The tenant panel: the balance is gone; the API log has the one withdraw call.
    expect(account.get_by_test_id("points")).to_have_text("0")
    page.locator("[data-tab=calls]").click()
    expect(
        page.locator("#tab-calls .call summary b").filter(has_text=re.compile(r"^withdraw$"))
    ).to_have_count(1)

    # In Chinese the names are the directory's Chinese names.
    page.click("[data-lang=zh_cn]")
    expect(bubble.locator(".card-title")).to_have_text("提取回执")
    expect(bubble.get_by_test_id("mention")).to_have_text(["@李华", "@李娜"])
    assert len(sandbox.world.emulator.calls_for("withdraw")) == 1
    assert errors == []


def test_a_bonus_lands_as_a_notice_and_a_leaver_is_asked_about_in_the_hr_group(
    sandbox: Sandbox, browser_page
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(sandbox.url)
    page.click("[data-lang=en_us]")
    expect(page.locator("#person")).to_have_value("ou_hr_admin")
    page.locator("[data-chat=group]").click()
    expect(page.locator("#chat-name")).to_have_text("HR group")
    cards = page.get_by_test_id("bot-message")

    # A bonus lands in Chen Jing's account: the tenant panel adds it and Feishu tells the bot.
    (chen,) = [a for a in sandbox.tenant.accounts() if a["open_id"] == "ou_chen"]
    account = page.locator(f"[data-account='{chen['account_id']}']")
    account.locator(".in-points").fill("500")
    account.locator(".in-amount").fill("300")
    account.get_by_role("button", name="Add bonus").click()
    expect(
        page.get_by_test_id("toast").filter(has_text="Bonus added: Feishu told the bot")
    ).to_be_visible()
    expect(account.get_by_test_id("points")).to_have_text("1,700")

    # The window's notice lands in the HR group.
    notice = cards.filter(has_text="Referral balances changed")
    expect(notice).to_have_count(1, timeout=15_000)
    expect(notice.locator(".card-header")).to_have_class(re.compile(r"\btpl-turquoise\b"))
    expect(notice).to_contain_text("Chen Jing")
    expect(notice).to_contain_text(chen["account_id"])
    expect(notice).to_contain_text("Change: +500 points · +CNY 300.00")
    expect(notice).to_contain_text("Now: 1,700 points · CNY 3,300.00")
    # Chen Jing herself was told one-to-one (her chat is not one the page shows).
    told = sandbox.world.emulator.messages_in(sandbox.world.p2p_chat("ou_chen"))
    assert any("Your referral bonus grew" in str(m.content) for m in told)

    # Zhao Lei leaves the company, from the directory: an action, drawn as a button.
    page.locator("[data-tab=directory]").click()
    row = page.locator("[data-person=ou_zhao]")
    offboard = row.get_by_role("button", name="Offboard…")
    expect(offboard).to_have_attribute(
        "title", "Make Zhao Lei leave the company: Feishu tells the bot"
    )
    # Emails, mobiles and open_ids each keep to one line: none is broken mid-word.
    assert directory_lines(page) == {
        text: 1 for e in sandbox.world.directory for text in directory_texts(e)
    }
    offboard.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Zhao Lei leaves the company?")
    dialog.get_by_role("button", name="Confirm").click()
    expect(
        page.get_by_test_id("toast").filter(has_text="Zhao Lei left the company")
    ).to_be_visible()
    expect(row.get_by_test_id("left")).to_have_text("Left")
    expect(row.get_by_role("button")).to_have_count(0)

    # The bot asks the HR group; Keep decides it in place.
    leaver = cards.filter(has_text="A referrer has left")
    expect(leaver).to_have_count(1)
    expect(leaver.get_by_role("button")).to_have_text(["Withdraw", "Disable", "Keep"])
    expect(leaver).to_contain_text("300 points · CNY 800.50 · USD 120.00")
    leaver.get_by_role("button", name="Keep").click()
    expect(page.get_by_test_id("toast").filter(has_text="Account kept as it is")).to_be_visible()
    expect(leaver).to_contain_text("Kept by @Li Hua")
    expect(leaver.get_by_role("button")).to_have_count(0)
    (zhao,) = [a for a in sandbox.tenant.accounts() if a["open_id"] == "ou_zhao"]
    assert zhao["enabled"]
    expect(cards).to_have_count(2)  # the notice and the leaver card, nothing else
    assert errors == []


def directory_texts(employee) -> list[str]:
    """What the directory shows of a person that must not break: open_id, email, mobile."""
    mobile = f"+{employee.mobile[0]} {employee.mobile[1]}" if employee.mobile else None
    return [t for t in (employee.open_id, employee.email, mobile) if t]


def directory_lines(page) -> dict[str, int]:
    """How many lines each open_id, email and mobile in the directory takes on screen."""
    return page.evaluate(
        """() => {
          const lines = {};
          const walker = document.createTreeWalker(
            document.querySelector("#tab-directory"), NodeFilter.SHOW_TEXT);
          for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            const text = node.textContent.trim();
            if (!/^(ou_|\\+\\d)|@/.test(text)) continue;
            const range = document.createRange();
            range.selectNodeContents(node);
            lines[text] = range.getClientRects().length;
          }
          return lines;
        }"""
    )


def test_the_second_digest_posted_carries_the_chart_of_the_totals(
    sandbox: Sandbox, browser_page, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(sandbox.url)
    page.click("[data-lang=en_us]")
    expect(page.locator("#person")).to_have_value("ou_hr_admin")
    page.locator("[data-chat=group]").click()
    expect(page.locator("#chat-name")).to_have_text("HR group")
    cards = page.get_by_test_id("bot-message")
    digests = cards.filter(has_text="Referral accounts digest")

    # The first digest: the totals, no chart yet.
    page.locator("#post-digest").click()
    expect(digests).to_have_count(1)
    expect(digests.first).to_contain_text("Total: 1,500 points")
    expect(digests.first.locator("svg")).to_have_count(0)

    # A bonus lands in Chen Jing's account; its notice comes before the next digest.
    (chen,) = [a for a in sandbox.tenant.accounts() if a["open_id"] == "ou_chen"]
    account = page.locator(f"[data-account='{chen['account_id']}']")
    account.locator(".in-points").fill("800")
    account.locator(".in-amount").fill("450")
    account.get_by_role("button", name="Add bonus").click()
    expect(cards.filter(has_text="Referral balances changed")).to_have_count(1, timeout=15_000)

    # The second digest charts points and each currency, a small chart each on its own scale,
    # labelled in the reader's language; the charts themselves hold no words.
    page.locator("#post-digest").click()
    expect(digests).to_have_count(2)
    second = cards.last  # named by place, not by its English title: the page changes language
    expect(second).to_contain_text("Total: 2,300 points")
    expect(second).to_contain_text("Scheduled · ")
    expect(second).to_contain_text("Totals of the last 2 scheduled digests")
    for label in ("Points", "CNY cash", "USD cash"):
        expect(second.get_by_text(label, exact=True)).to_have_count(1)
    charts = second.get_by_test_id("card-chart")
    expect(charts).to_have_count(3)
    expect(charts.locator("svg")).to_have_count(3)
    expect(charts.locator(".chart-series polyline")).to_have_count(3)
    expect(charts.locator(".chart-series circle")).to_have_count(6)
    expect(charts.locator(".chart-title")).to_have_count(0)
    expect(charts.locator(".chart-legend")).to_have_count(0)
    expect(charts.nth(0).locator(".chart-series circle title").nth(1)).to_contain_text(": 2,300")
    # USD's 120 dollars stand in the upper half of their own chart, not flat on its 0 line
    # as beside thousands of points.
    usd = charts.nth(2)
    zero = float(usd.locator(".chart-baseline").get_attribute("y1"))
    points = usd.locator(".chart-series polyline").get_attribute("points").split()
    assert all(float(p.split(",")[1]) < zero / 2 for p in points)
    assert errors == []

    # The reader who reads Chinese sees every word of it in Chinese, and only in Chinese.
    page.click("[data-lang=zh_cn]")
    expect(second).to_contain_text("近 2 份定时摘要的合计")
    expect(second).to_contain_text("定时 · ")
    for label in ("积分", "CNY 现金", "USD 现金"):
        expect(second.get_by_text(label, exact=True)).to_have_count(1)
    expect(second).not_to_contain_text("Points")
    page.click("[data-lang=en_us]")

    # The card's top in view: its header, the totals and the charts under them.
    second.evaluate("card => card.scrollIntoView({block: 'start'})")
    expect(page.get_by_test_id("toast")).to_have_count(0)  # nothing over the chat
    shot = SCREENSHOT if UPDATE_SCREENSHOT else tmp_path / "sandbox.png"
    shot.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(shot))
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 10_000


def test_what_a_stranger_types_shows_as_typed_in_the_card(sandbox: Sandbox, browser_page) -> None:
    """The page renders the bot's escapes as Feishu does: the characters, never a mention, a link
    or bold."""
    from playwright.sync_api import expect

    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(sandbox.url)
    page.click("[data-lang=en_us]")
    cards = page.get_by_test_id("bot-message")
    expect(cards.filter(has_text="referral-bot help")).to_have_count(1)
    typed = "<at id=all></at> [x](https://evil.example) **B** ~~S~~ &lt;b&gt; \\*i\\*"
    composer = page.get_by_test_id("composer")
    composer.fill(f"/referral find {typed}")
    composer.press("Enter")
    answer = cards.filter(has_text="No known account matches")
    expect(answer).to_have_count(1)
    body = answer.locator(".card-body")
    expect(body).to_contain_text(f"No known account matches “{typed}”")
    expect(answer.locator(".card-title")).to_have_text(f"Accounts matching “{typed}”")
    for live in ("[data-testid=mention]", "a", "strong", "del", "em"):
        expect(body.locator(live)).to_have_count(0)
    # Feishu's other escapes, which the bot does not use, read the same way: named entities and
    # CommonMark's backslash are the characters; markup of the bot's own is still markup.
    shown = page.evaluate(
        """() => {
            const node = document.createElement("div");
            node.innerHTML = markdownToHtml(
                "&lt;at id=all&gt;&lt;/at&gt; \\\\*i\\\\* " +
                "\\\\[x\\\\](https://e.example) &amp;lt; **bold** <at id=ou_hr_admin></at>");
            return {
                text: node.textContent,
                mentions: node.querySelectorAll("[data-testid=mention]").length,
                links: node.querySelectorAll("a, em").length,
                bold: node.querySelectorAll("strong").length,
            };
        }"""
    )
    assert shown == {
        "text": "<at id=all></at> *i* [x](https://e.example) &lt; bold @Li Hua",
        "mentions": 1,
        "links": 0,
        "bold": 1,
    }
    assert errors == []
