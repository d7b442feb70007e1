"""The status digest: posted on a schedule to the digest chats, and on demand."""

PLACE = 6
MODULES = ("commands",)
