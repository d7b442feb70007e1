"""`/referral digest`: the digest run now, for this chat, as the reply."""

from __future__ import annotations

from dataclasses import dataclass

from handlers import parser
from handlers.asker import Answer, Asker
from handlers.registry import command
from handlers.services import Services


@dataclass(frozen=True)
class PostDigest:
    pass


@command("/referral digest", parse=parser.no_args(PostDigest()))
def post_digest(services: Services, asker: Asker, command: PostDigest) -> Answer:
    """Post the status digest here
    在此发送账户摘要"""
    return Answer(services.digest.card_for_chat(asker.chat_id))
