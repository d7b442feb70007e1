"""What the person who asked is told when a command does not simply succeed: Open API
failures in plain words (`explain`), and the card of every other outcome the command runner and
the message handler produce (not a command, wrong usage, not sure it was done, still trying, ...).
Each is built here once, so every path answers alike and one table test renders them all.
"""

from __future__ import annotations

from bot.feishu.contacts import INVALID_USER_ID, OUTSIDE_CONTACT_RANGE
from bot.feishu.openapi import TOKEN_CODES, OpenApiError
from bot.feishu.referral import (
    ACCOUNT_DISABLED,
    ACCOUNT_NOT_FOUND,
    BAD_PARAMETER,
    SERVER_ERROR,
    USER_NOT_FOUND,
    USER_NOT_UNIQUE,
)
from cards.error import error_card, waiting_card
from cards.text import Text, sentences

# "Access denied. One of the following scopes is required: [...]"
NO_PERMISSION = 99991672

EXPLANATIONS: dict[int, Text] = {
    USER_NOT_FOUND: Text(
        "No employee has this email or mobile number. Check it and try again.",
        "没有员工使用这个邮箱或手机号，请核对后重试。",
    ),
    USER_NOT_UNIQUE: Text(
        "More than one employee matches. Register with the other contact (email or mobile).",
        "匹配到多名员工，请改用另一种联系方式（邮箱或手机号）注册。",
    ),
    ACCOUNT_NOT_FOUND: Text(
        "There is no referral account with this ID.",
        "不存在这个 ID 的内推账户。",
    ),
    OUTSIDE_CONTACT_RANGE: Text(
        "This person is outside the app's contact range. In the developer console, widen "
        "the app's contact range (Permissions & Scopes → contact range) to include them.",
        "此人不在应用的通讯录权限范围内。请在开发者后台扩大应用的通讯录权限范围以包含此人。",
    ),
    INVALID_USER_ID: Text("Feishu does not know this person.", "飞书中找不到此人。"),
    ACCOUNT_DISABLED: Text(
        "The account is disabled, and a disabled account cannot withdraw. Enable it first.",
        "该账户已停用，停用的账户不能提取，请先启用。",
    ),
    BAD_PARAMETER: Text(
        "Feishu refused the request as invalid. Check the value and try again.",
        "飞书认为请求参数有误，请核对后重试。",
    ),
    SERVER_ERROR: Text(
        # Not "nothing was changed": a server error may come after Feishu acted.
        "Feishu had a server error. Try again in a few minutes.",
        "飞书服务端出错，请几分钟后重试。",
    ),
}


def explain(error: OpenApiError) -> Text:
    """What went wrong, for a chat answer; with Feishu's log id when there is one."""
    if error.code in EXPLANATIONS:
        text = EXPLANATIONS[error.code]
    elif error.rate_limited:
        text = Text(
            "Feishu is busy (rate limit) and kept refusing after several tries. "
            "Try again in a minute.",
            "飞书繁忙（频率限制），多次重试仍未成功，请一分钟后重试。",
        )
    elif error.code == NO_PERMISSION:
        text = Text(
            f"The app lacks a permission Feishu requires for this: {error.msg} "
            "Add it in the developer console (Permissions & Scopes) and publish a version.",
            f"应用缺少飞书要求的权限：{error.msg} 请在开发者后台（权限管理）添加并发布新版本。",
        )
    elif error.code in TOKEN_CODES:
        text = Text(
            "Feishu refused the bot's credentials. Ask whoever runs the bot to check "
            "LARK_APP_ID and LARK_APP_SECRET.",
            "飞书拒绝了机器人的凭证，请联系管理员检查 LARK_APP_ID 与 LARK_APP_SECRET。",
        )
    elif error.code is None:
        text = Text(
            "Feishu could not be reached or did not answer in time. Try again in a minute.",
            "无法连接飞书或飞书未及时响应，请一分钟后重试。",
        )
    else:
        text = Text(
            f"Feishu answered with error {error.code}: {error.msg}",
            f"飞书返回错误 {error.code}：{error.msg}",
        )
    if error.log_id:
        text = sentences(text, _log_id(error.log_id))
    return text


def _log_id(log_id: str) -> Text:
    """Feishu's log id of a failed call: its support asks for it."""
    return Text(f"(log id {log_id})", f"（日志 ID {log_id}）")


# --- the outcomes of a message ----------------------------------------------------------------
WRONG_COMMAND = Text("Wrong command", "命令有误")


def not_a_command(usage: str) -> dict:
    """Text that is no /referral command; `usage` is the general usage line."""
    return error_card(
        Text("Not a command", "无法识别的命令"),
        Text(
            "I only understand /referral commands. Send /referral help for the list.",
            "我只能理解 /referral 命令，发送 /referral help 查看全部命令。",
        ),
        usage=usage,
    )


def not_text() -> dict:
    """A message that is not text (an image, a file, a sticker)."""
    return error_card(
        Text("Not a command", "无法识别的命令"),
        Text(
            "Send me a text command, e.g. /referral help.", "请发送文字命令，例如 /referral help。"
        ),
    )


def wrong_command(problem: Text, usage: str | None = None) -> dict:
    """A command with a wrong argument: what was wrong and, when known, the usage to copy."""
    return error_card(WRONG_COMMAND, problem, usage=usage)


def unknown_mention(key: str) -> Text:
    """The problem with an `@_user_N` that the message's mentions do not explain."""
    return Text(f"Who is {key}? Mention the person again.", f"{key} 是谁？请重新 @该员工。")


def could_not(reason: Text) -> dict:
    """The work failed for good; `reason` says why (for an Open API failure, `explain`)."""
    return error_card(Text("Could not do that", "操作未完成"), reason)


def uncertain_registration(cut_off: OpenApiError | None = None) -> dict:
    """A register cut off after Feishu may have acted, so not sent again: by `cut_off` (a
    server error, or a connection dropped before the answer), or by the bot itself stopping."""
    if cut_off is None:
        why = Text("The bot was interrupted while registering.", "机器人在注册过程中被中断。")
    elif cut_off.code is None:
        why = Text(
            "The connection to Feishu broke off before Feishu answered.",
            "飞书作出答复之前，与飞书的连接中断了。",
        )
    else:
        why = Text(
            f"Feishu answered with a server error ({cut_off.code}).",
            f"飞书返回了服务端错误（{cut_off.code}）。",
        )
    if cut_off is not None and cut_off.log_id:
        why = sentences(why, _log_id(cut_off.log_id))
    detail = Text(
        "Feishu did not confirm the registration, and it may have taken effect. "
        "Check the person's referral account in Feishu Hire before registering again.",
        "飞书未确认注册结果，注册可能已经生效。请先在飞书招聘中核实该员工的内推账户，再决定是否重新注册。",
    )
    return error_card(
        Text("Not sure it was registered", "无法确认是否已注册"), sentences(why, detail)
    )


def still_trying(until: str, zone: str) -> dict:
    """The interim answer of a command held up by a failing Feishu; `until` is when the bot
    stops trying, as shown (a local time in `zone`, which the footer names). The result
    replaces this card."""
    return waiting_card(
        Text("Feishu is failing, still trying", "飞书暂时故障，正在重试"),
        Text(
            "Feishu keeps answering with errors, so your command is not done yet. I keep "
            f"trying until {until} and will update this message with the result; there is "
            "no need to send it again.",
            f"飞书持续返回错误，你的命令尚未完成。机器人会持续重试到 {until}，"
            "并在此消息中更新结果，无需重新发送。",
        ),
        zone=zone,
    )


def late_answer(command: str) -> dict:
    """After hours without Feishu: the command ran, its answer follows."""
    return error_card(
        Text("A late answer", "迟到的回复"),
        Text(
            f"Your command {command!r} was carried out, but Feishu could not be reached to "
            "answer you for hours. Its answer follows.",
            f"你的命令 {command!r} 已执行，但飞书长时间无法连接，未能及时回复。结果如下。",
        ),
    )


def maybe_done(command: str) -> dict:
    """After hours without Feishu: the command's change was begun and never confirmed."""
    return error_card(
        Text("Not sure it was done", "无法确认是否完成"),
        Text(
            f"Your command {command!r} was begun, but Feishu kept failing or could not be "
            "reached for hours to confirm it. It may have taken effect: check before sending "
            "it again.",
            f"你的命令 {command!r} 已开始执行，但飞书长时间故障或无法连接，无法确认结果，"
            "可能已经生效，请核实后再决定是否重新发送。",
        ),
    )


def not_done(command: str) -> dict:
    """After hours without Feishu: the command never ran."""
    return error_card(
        Text("Not done", "未执行"),
        Text(
            f"Your command {command!r} was not carried out: Feishu kept failing or could not "
            "be reached for hours. Nothing was changed; send it again.",
            f"你的命令 {command!r} 未执行：飞书长时间故障或无法连接，未做任何更改，请重新发送。",
        ),
    )
