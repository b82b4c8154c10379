"""The peer for bench/report_throughput.py: a bare python-telegram-bot echo bot.

Same PTB settings as thidua (concurrent updates 64, connection pool 16). It
does the same Telegram work per update as a report conversation (a reply
with an inline button to every text; for every button press, answer the
callback query and send a reply) with concurrent updates on, no rate limiter
and no storage: the floor for any bot on the same PTB stack and fake Bot API.
"""

from __future__ import annotations

import os
import sys

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

BUTTON = InlineKeyboardMarkup([[InlineKeyboardButton("tap", callback_data="tap")]])


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.effective_message is not None and update.effective_chat is not None:
        text = f"echo: {update.effective_message.text}"
        await context.bot.send_message(update.effective_chat.id, text, reply_markup=BUTTON)


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is not None and update.effective_chat is not None:
        await query.answer()
        await context.bot.send_message(
            update.effective_chat.id, f"echo: pressed {query.data}", reply_markup=BUTTON
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
    app.add_handler(CallbackQueryHandler(pressed))
    app.run_polling(poll_interval=0, timeout=2, drop_pending_updates=False)


if __name__ == "__main__":
    main()
