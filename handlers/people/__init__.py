"""People: finding accounts by what people typed (`lookup`), the commands about people
(`find`, `me`, `whoami`), and leavers (`contact.user.deleted_v3`, the Keep button)."""

PLACE = 2
MODULES = ("commands", "leavers")
