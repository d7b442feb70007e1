from datetime import date

from card_checks import all_content, assert_valid_card, walk

from cards.layout import card_size
from cards.reconcile import MismatchLine, ReconcileView, reconcile_card, reconcile_failed_card
from cards.text import Text

OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))
ZONE = "Asia/Shanghai"


def view(accounts=2, points=1500, mismatches=(), window=OCTOBER) -> ReconcileView:
    return ReconcileView(*window, ZONE, accounts, points, mismatches)


def test_everything_matches_in_both_languages():
    card = reconcile_card(view())
    assert_valid_card(card)
    en, zh = all_content(card, "en_us"), all_content(card, "zh_cn")
    assert card["header"]["title"]["i18n_content"] == {"zh_cn": "对账", "en_us": "Reconciliation"}
    assert card["header"]["subtitle"]["content"] == "2026-10-01 – 2026-10-31 (Asia/Shanghai)"
    assert card["header"]["template"] == "green"
    assert "Checked **2 accounts** · **1,500 points** withdrawn through the bot" in en
    assert "已核对 **2 个账户** · 通过机器人提取 **1,500 积分**" in zh
    assert "Everything matches" in en and "全部一致" in zh
    assert "Feishu reconciles points only, not cash." in en


def test_mismatches_show_both_figures_with_copyable_ids():
    lines = [
        MismatchLine("6942778198054000001", 300, 200),
        MismatchLine("6942778198054000002", 0, 100),
    ]
    card = reconcile_card(view(mismatches=lines))
    assert_valid_card(card)
    en, zh = all_content(card, "en_us"), all_content(card, "zh_cn")
    assert card["header"]["template"] == "red"
    assert "**2 mismatches**" in en and "**2 处不一致**" in zh
    assert "`6942778198054000001` · Feishu: 300 points · bot: 200 points" in en
    assert "`6942778198054000001` · 飞书记录：300 积分 · 机器人记录：200 积分" in zh
    assert "`6942778198054000002` · Feishu: 0 points · bot: 100 points" in en
    assert "Everything matches" not in en and "more" not in en


def test_a_split_window_names_the_part_and_one_is_singular():
    lines = [MismatchLine("6942778198054000001", 1, 0, "2026-09-15 – 2026-09-30")]
    card = reconcile_card(view(1, 1, lines, (date(2026, 9, 15), date(2026, 11, 10))))
    en = all_content(card, "en_us")
    assert "**1 mismatch**" in en and "**1 account** · **1 point**" in en
    assert "`6942778198054000001` · 2026-09-15 – 2026-09-30 · Feishu: 1 point · bot: 0 points" in en


def test_no_withdrawals_through_the_bot():
    card = reconcile_card(view(0, 0, window=(date(2026, 10, 5), date(2026, 10, 5))))
    assert_valid_card(card)
    en, zh = all_content(card, "en_us"), all_content(card, "zh_cn")
    assert "No withdrawals through the bot in this window." in en
    assert "此期间没有通过机器人的提取。" in zh
    assert card["header"]["subtitle"]["content"] == "2026-10-05 (Asia/Shanghai)"


def test_thousands_of_mismatches_stay_within_30_kb_and_200_elements():
    lines = [MismatchLine(f"69427781980{i:08d}", 10_000 + i, i) for i in range(3000)]
    for max_lines in (100, 10_000):
        card = reconcile_card(view(3000, 3_000_000, lines), max_lines=max_lines)
        assert_valid_card(card)
        assert card_size(card) < 30 * 1024
        assert sum(1 for _ in walk(card["body"])) < 200
        en, zh = all_content(card, "en_us"), all_content(card, "zh_cn")
        shown = en.count(" · Feishu: ")
        assert 0 < shown <= max_lines
        assert f"… and {3000 - shown:,} more" in en and f"… 还有 {3000 - shown:,} 项" in zh
        assert "**3,000 mismatches**" in en


def test_failed_report_says_why_in_plain_words():
    reason = Text("Feishu had a server error *now*.", "飞书服务端出错。")
    card = reconcile_failed_card(*OCTOBER, ZONE, reason)
    assert_valid_card(card)
    en = all_content(card, "en_us")
    assert "Could not reconcile this window: Feishu had a server error *now*." in en
    assert "未能完成此期间的对账：飞书服务端出错。" in all_content(card, "zh_cn")
    assert card["header"]["template"] == "red"


def test_mismatching_accounts_are_named_in_the_readers_language():
    lines = [MismatchLine("6942778198054000001", 300, 200), MismatchLine("69", 1, 2)]
    names = {"6942778198054000001": Text.data("Chen Jing", "陈静")}
    card = reconcile_card(ReconcileView(*OCTOBER, ZONE, 2, 3, lines, names=names))
    assert_valid_card(card)
    en, zh = all_content(card, "en_us"), all_content(card, "zh_cn")
    assert "**Chen Jing** · `6942778198054000001` · Feishu: 300 points · bot: 200 points" in en
    assert "**陈静** · `6942778198054000001` · 飞书记录：300 积分 · 机器人记录：200 积分" in zh
    assert "`69` · Feishu: 1 point · bot: 2 points" in en  # nobody known: the ID alone
