"""Referral accounts: register, show, enable, disable and list them, by command and by
button; keep every card of an account true (`cards`); take Feishu's balance events (`balance`)."""

PLACE = 1
MODULES = ("commands", "buttons", "cards", "balance")
