from tests.conftest import buttons, card_text


def test_register_and_show(lark, emulator):
    reply = lark.ask("/referral register hire@open.com")
    text = card_text(reply.content)
    assert "Account registered" in text, text
    account_id = buttons(reply.content)[0]["account_id"]
    reply = lark.ask(f"/referral show {account_id}")
    assert account_id in card_text(reply.content)
