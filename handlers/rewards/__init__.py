"""Rewards with a second pair of eyes: a request (`requests`: from `/referral reward` or the
Reward form of a hired card) that another admin approves under the withdrawals' rule, the one
import it queues with its `external_id` (`imports`), its card and audit (`trail`), and the
commands and buttons that reach them (`commands`)."""

PLACE = 3.6
MODULES = ("commands", "requests", "imports", "trail")
