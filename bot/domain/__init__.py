"""The domain types every layer shares, and the pure rules on them: accounts and their balance
(`accounts`), people and how a contact is keyed (`people`, `mobiles`), withdrawals and their
states (`withdrawals`, and how an uncertain one is settled: `settlement`), and the digest's
deltas (`digest_model`). They import nothing of ours but each other: cards, handlers, records and
the Feishu layer all build on them.
"""
