"""Everything that speaks Feishu's protocol.

The Open API client and the policy every call goes through (`openapi`), its client-side rate
limits (`ratelimit`), the typed referral-account operations (`referral`), who a person is
(`contacts`), sending and updating cards (`messenger`), and verifying what Feishu pushes to us
(`pushes`). The long connection: its life, connecting, pinging and reconnecting
(`long_connection`), its wire format and the reassembly of split payloads (`frames`), and the
thread pool whose threads never hold the process at exit (`daemon_pool`). Modules here may
import `bot.config`, the domain types of `bot/` and each other; never `bot.records`, `handlers`
or `cards`: they speak the protocol, they do not decide what to say or keep anything.
"""
