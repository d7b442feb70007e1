"""Card JSON 2.0 builders: pure functions, data in, dict out.

Cards import only the domain types they render (`bot.domain`: accounts, digest_model, ...) and
each other: no SDK, no Flask, no database, no handlers.

What comes from outside (names, emails, what someone typed, Feishu's messages) reaches a
markdown element only through `cards.text.escape` (see `cards/text.py`); the hostile-text walker
in `tests/cards/test_cards_hostile.py` builds every card with such text in every field.
"""
