"""The peer for bench/report_throughput.py: a bare python-telegram-bot echo bot.

Concurrent updates on, no rate limiter, no storage: the floor of what any bot on
the same PTB stack and the same fake Bot API can do.
"""

from __future__ import annotations

import os
import sys

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.effective_message is not None and update.effective_chat is not None:
        await context.bot.send_message(
            update.effective_chat.id, f"echo: {update.effective_message.text}"
        )


def main() -> None:
    token, base_url = sys.argv[1], sys.argv[2]
    concurrency = int(os.environ.get("ECHO_CONCURRENCY", "64"))
    app = (
        Application.builder()
        .token(token)
        .base_url(base_url)
        .concurrent_updates(concurrency)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.run_polling(poll_interval=0, timeout=2, drop_pending_updates=False)


if __name__ == "__main__":
    main()
