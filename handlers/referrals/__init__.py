"""Referral progress: following each referred application on Feishu's stage-change event
(`progress`), telling its referrer and, on a hire, the notice chats (`telling`), the
`referrals` command (`commands`) and the `me` card's part (`me`)."""

PLACE = 3.4
MODULES = ("progress", "telling", "commands")
