"""Referral progress: following each referred application on Feishu's stage-change event
(`progress`), telling its referrer and, on a hire, the notice chats (`telling`), and the
`referrals` command with the `me` card's part (`commands`). Plain functions taking `Services`."""
