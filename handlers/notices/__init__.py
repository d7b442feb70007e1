"""Balance notices: a card a window to the notice chats, a message to referrers."""

PLACE = 8
MODULES = ("jobs",)
