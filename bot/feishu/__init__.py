"""Everything that speaks Feishu's protocol.

The Open API client and the policy every call goes through (`openapi`), its client-side rate
limits (`ratelimit`), the typed referral-account operations (`referral`), sending and updating
cards (`messenger`), and verifying what Feishu pushes to us (`pushes`). Later: contacts and the
long connection. Modules here may import `bot.config`, the domain types of `bot/` and each
other; never `bot.records`, `handlers` or `cards`: they speak the protocol, they do not decide
what to say or keep anything.
"""
