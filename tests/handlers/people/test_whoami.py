"""`/referral whoami` over real HTTP: anyone learns their own open_id, and in a group the group's
chat_id, each in a code span (one tap copies it), in both languages."""

from bot.emulator import events as feishu
from tests.cards.card_checks import walk
from tests.conftest import OUTSIDER, Feishu, card_text, card_text_zh


def code_spans(card: dict) -> list[str]:
    """The text of every inline code span in the card's markdown, English and Chinese."""
    spans = []
    for node in walk(card):
        if node.get("tag") == "markdown":
            for text in (node["content"], node["i18n_content"]["zh_cn"]):
                spans += text.split("`")[1::2]
    return spans


def test_in_the_one_to_one_chat_anyone_gets_their_open_id(lark: Feishu, emulator, bot):
    reply = lark.ask("/referral whoami", open_id=OUTSIDER, chat_id="oc_p2p_outsider")
    assert reply.chat_id == "oc_p2p_outsider"
    text, zh = card_text(reply.content), card_text_zh(reply.content)
    assert f"Your open_id: `{OUTSIDER}`" in text and f"你的 open_id：`{OUTSIDER}`" in zh
    assert code_spans(reply.content) == [OUTSIDER, OUTSIDER]
    # The one-to-one chat's id is no setting's: not shown, and the card says how to get a group's.
    assert "oc_p2p_outsider" not in text and "chat_id" in text and "@bot /referral whoami" in text
    assert "not allowed" not in text
    assert emulator.calls_for("get_account_assets") == []
    (entry,) = bot.services.audit.entries()
    assert (entry["action"], entry["outcome"], entry["actor"]) == ("whoami", "ok", OUTSIDER)


def test_in_a_group_it_also_gives_the_groups_chat_id(lark: Feishu):
    reply = lark.ask(
        "@_user_1 /referral whoami",
        open_id=OUTSIDER,
        chat_type="group",
        chat_id="oc_hr_group",
        mentions=[feishu.bot_mention(open_id="ou_bot")],
    )
    assert reply.chat_id == "oc_hr_group"
    text, zh = card_text(reply.content), card_text_zh(reply.content)
    assert "This group's chat_id: `oc_hr_group`" in text and "本群的 chat_id：`oc_hr_group`" in zh
    assert code_spans(reply.content) == [OUTSIDER, OUTSIDER, "oc_hr_group", "oc_hr_group"]
    assert "REFERRAL_BOT_DIGEST_CHATS" in text and "REFERRAL_BOT_NOTICE_CHATS" in text


def test_whoami_is_in_the_help_and_takes_no_arguments(lark: Feishu):
    assert "/referral whoami" in card_text(lark.ask("/referral help", open_id=OUTSIDER).content)
    wrong = card_text(lark.ask("/referral whoami please", open_id=OUTSIDER).content)
    assert "takes no arguments" in wrong
