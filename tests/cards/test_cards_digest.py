import json
import re
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from card_checks import all_content, assert_valid_card, buttons, walk

from bot.domain.accounts import Account, AccountStatus, Cash
from bot.domain.digest_model import changes, totals
from cards.digest import DigestView, digest_card
from cards.layout import card_size
from cards.text import Text

TAKEN = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
SINCE = datetime(2026, 11, 20, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
GONE = Text("There is no referral account with this ID.", "不存在这个 ID 的内推账户。")


def acc(i: int, status=AccountStatus.ENABLED, points=0, cny="0") -> Account:
    cash = (Cash("CNY", Decimal(cny)),) if cny != "0" else ()
    return Account(f"6942778198054{i:06d}", status, points, cash)


def view(previous, current, **kw) -> DigestView:
    fields = dict(
        taken_at=TAKEN,
        known=len(current) + len(kw.get("failures", ())),
        accounts=current,
        totals=totals(current),
        changes=changes(previous, current),
        since=SINCE,
        zone="Asia/Shanghai",
    )
    fields.update(kw)
    return DigestView(**fields)


def test_totals_changes_and_failures_in_both_languages():
    previous = {a.account_id: a for a in (acc(1, points=10), acc(2), acc(3, cny="5"))}
    current = [
        acc(1, points=110, cny="50"),
        acc(2, AccountStatus.DISABLED),
        acc(3, cny="5"),
        acc(4),
    ]
    card = digest_card(
        view(previous, current, failures=[("6942778198054000009", GONE)]),
    )
    assert_valid_card(card)
    en, zh = all_content(card, "en_us"), all_content(card, "zh_cn")
    assert "**5 accounts** · 3 enabled · 1 disabled" in en
    assert "**共 5 个账户** · 3 个已启用 · 1 个已停用" in zh
    assert "Total: 110 points · CNY 55.00" in en and "合计：110 积分 · CNY 55.00" in zh
    assert "`6942778198054000001` · +100 points · +CNY 50.00" in en
    assert "`6942778198054000001` · +100 积分 · +CNY 50.00" in zh
    assert "Enabled → <font color='red'>Disabled</font>" in en
    assert (
        "`6942778198054000004` · new · <font color='green'>Enabled</font> · 0 points · no cash"
        in en
    )
    assert "`6942778198054000009` · could not fetch: There is no referral account" in en
    assert "查询失败：不存在这个 ID 的内推账户。" in zh
    assert "6942778198054000003" not in en  # unchanged
    order = [en.index(s) for s in ("Could not fetch", "Status changes", "Balance changes", "New")]
    assert order == sorted(order)
    assert "Changes since the scheduled digest of 2026-11-20 09:00\n" in en
    assert en.count("Asia/Shanghai") == 1 and "Times in Asia/Shanghai" in en
    assert card["header"]["template"] == "red"
    assert "more" not in en
    (show_all,) = buttons(card)
    assert show_all["behaviors"] == [{"type": "callback", "value": {"action": "list"}}]
    assert show_all["text"]["i18n_content"] == {
        "zh_cn": "查看全部账户",
        "en_us": "Show all accounts",
    }


def test_quiet_day_and_first_digest():
    current = [acc(1, points=5)]
    quiet = digest_card(view({current[0].account_id: current[0]}, current))
    assert_valid_card(quiet)
    assert "No changes since the last scheduled digest." in all_content(quiet, "en_us")
    assert quiet["header"]["template"] == "blue"
    first = digest_card(view({}, current, changes=(), first=True))
    assert "This is the first scheduled digest" in all_content(first, "en_us")
    assert "这是第一份定时摘要" in all_content(first, "zh_cn")
    # On demand before any scheduled digest: nothing to compare with, and it is not the first.
    asked = digest_card(view({}, current, changes=(), first=True, scheduled=False))
    assert "No scheduled digest yet" in all_content(asked, "en_us")
    assert "还没有定时摘要" in all_content(asked, "zh_cn")
    assert "first" not in all_content(asked, "en_us")


def test_the_header_says_which_kind_of_digest_it_is_in_the_readers_language():
    current = [acc(1, points=5)]
    scheduled = digest_card(view({}, current))
    asked = digest_card(view({}, current, scheduled=False))
    for card, en, zh in ((scheduled, "Scheduled", "定时"), (asked, "On demand", "按需")):
        subtitle = card["header"]["subtitle"]["i18n_content"]
        assert subtitle == {
            "en_us": f"{en} · 2026-11-23 09:00",
            "zh_cn": f"{zh} · 2026-11-23 09:00",
        }
        assert card["config"]["summary"]["i18n_content"]["en_us"].endswith(subtitle["en_us"])
    # The digest's Chinese name is one word, as in the bot menu and the buttons.
    assert scheduled["header"]["title"]["i18n_content"]["zh_cn"] == "内推账户摘要"
    assert "日报" not in json.dumps(scheduled, ensure_ascii=False)


def test_no_accounts_says_how_to_register():
    card = digest_card(view({}, [], known=0))
    assert_valid_card(card)
    assert "/referral register <email>" in all_content(card, "en_us")
    assert buttons(card) == []


def test_undelivered_chats_are_reported():
    current = [acc(1)]
    card = digest_card(
        view({}, current, undelivered=[("oc_gone", Text("bot left", "机器人已退出"))])
    )
    assert "The last digest could not be posted to `oc_gone`: bot left" in all_content(
        card, "en_us"
    )
    assert "上一份摘要未能发送到 `oc_gone`：机器人已退出" in all_content(card, "zh_cn")


def test_hundreds_of_lines_stay_under_30_kb_with_and_n_more():
    previous = {acc(i).account_id: acc(i) for i in range(400)}
    current = [acc(i, AccountStatus(1 + i % 2), 100, "50") for i in range(400)]
    failures = [(f"6900000000000{i:06d}", GONE) for i in range(50)]
    for max_lines in (60, 10_000):
        card = digest_card(view(previous, current, failures=failures), max_lines=max_lines)
        assert_valid_card(card)
        assert card_size(card) < 30 * 1024
        en, zh = all_content(card, "en_us"), all_content(card, "zh_cn")
        shown = en.count("could not fetch") + en.count("+100 points")
        assert f"… and {450 - shown} more" in en and f"… 还有 {450 - shown} 项" in zh
        # Failures come first, so all 50 show before any balance change.
        assert en.count("could not fetch") == min(50, shown)
        assert buttons(card)[-1]["behaviors"][0]["value"] == {"action": "list"}


def test_times_are_shown_in_the_digest_zone_whatever_zone_they_carry():
    current = [acc(1)]
    taken_utc = datetime(2026, 11, 23, 1, 0, tzinfo=ZoneInfo("UTC"))
    since_naive = datetime(2026, 11, 20, 1, 0)  # naive datetimes are UTC
    card = digest_card(view({}, current, taken_at=taken_utc, since=since_naive))
    assert_valid_card(card)
    assert card["header"]["subtitle"]["content"] == "Scheduled · 2026-11-23 09:00"
    assert "Changes since the scheduled digest of 2026-11-20 09:00" in all_content(card, "en_us")
    assert "自 2026-11-20 09:00 的定时摘要以来的变化" in all_content(card, "zh_cn")
    assert "UTC" not in all_content(card, "en_us")
    # The zone is named once, in the footer, in both languages.
    for language in ("en_us", "zh_cn"):
        assert all_content(card, language).count("Asia/Shanghai") == 1
    assert "Times in Asia/Shanghai" in all_content(card, "en_us")
    assert "时间均为 Asia/Shanghai 时区" in all_content(card, "zh_cn")


def test_changes_name_each_account_in_the_readers_language_beside_its_id():
    previous = {a.account_id: a for a in (acc(1, points=10), acc(2))}
    current = [acc(1, points=460, cny="450"), acc(2, AccountStatus.DISABLED), acc(3)]
    names = {
        acc(1).account_id: Text.data("Chen Jing", "陈静"),
        acc(2).account_id: Text.data("wang.fang@open.com"),
    }
    card = digest_card(view(previous, current, names=names, failures=[(acc(9).account_id, GONE)]))
    assert_valid_card(card)
    en, zh = all_content(card, "en_us"), all_content(card, "zh_cn")
    assert "**Chen Jing** · `6942778198054000001` · +450 points · +CNY 450.00" in en
    assert "**陈静** · `6942778198054000001` · +450 积分 · +CNY 450.00" in zh
    assert "**wang.fang@open.com** · `6942778198054000002` · Enabled →" in en
    assert "`6942778198054000003` · new" in en  # nobody known: the ID alone
    assert "`6942778198054000009` · could not fetch" in en


def test_one_account_and_one_point_are_singular():
    previous = {acc(1).account_id: acc(1, points=10)}
    current = [acc(1, points=11), acc(2, points=1)]
    card = digest_card(view(previous, current, known=1))
    en = all_content(card, "en_us")
    assert "**1 account** · " in en
    assert "`6942778198054000001` · +1 point" in en
    assert "`6942778198054000002` · new · <font color='green'>Enabled</font> · 1 point" in en
    assert not re.search(r"(?<![\d,])1 points", en)
    down = digest_card(view({acc(1).account_id: acc(1, points=10)}, [acc(1, points=9)]))
    assert "· -1 point" in all_content(down, "en_us")
    assert "-1 积分" in all_content(down, "zh_cn")


def charts(card: dict) -> list[dict]:
    return [node for node in walk(card) if node.get("tag") == "chart"]


def test_the_charts_follow_the_totals_once_there_is_history():
    current = [acc(1, points=300, cny="20")]
    earlier = [(SINCE, totals([acc(1, points=100)])), (TAKEN, totals(current))]

    card = digest_card(view({}, current, history=earlier))

    assert_valid_card(card)
    points, cny = charts(card)
    elements = card["body"]["elements"]
    # Right under the totals they chart: what they cover, then each unit's label and chart.
    assert elements.index(points) == 3 and elements.index(cny) == 5
    assert elements[2]["i18n_content"]["zh_cn"] == "**积分**"
    assert elements[4]["i18n_content"]["en_us"] == "**CNY cash**"
    values = [
        [(r["date"], r["value"]) for r in c["chart_spec"]["data"]["values"]] for c in charts(card)
    ]
    assert values == [[("11-20", 100), ("11-23", 300)], [("11-20", 0), ("11-23", 20)]]
    # The header's moment is the chart's last point.
    assert card["header"]["subtitle"]["content"].endswith("2026-11-23 09:00")
    # The first digest, and a card with no history at all, have no chart.
    assert charts(digest_card(view({}, current, history=earlier[1:], first=True))) == []
    assert charts(digest_card(view({}, current))) == []


def test_the_charts_and_hundreds_of_lines_still_fit_in_30_kb():
    previous = {acc(i).account_id: acc(i) for i in range(400)}
    current = [acc(i, AccountStatus.ENABLED, 100, "50") for i in range(400)]
    history = [(SINCE + timedelta(days=d), totals(current)) for d in range(30)]
    card = digest_card(view(previous, current, history=history))
    assert_valid_card(card)
    assert card_size(card) < 30 * 1024
    assert len(charts(card)) == 2
    assert "… and " in all_content(card, "en_us")
