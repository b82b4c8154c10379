"""People who left: list, deactivate, reactivate (chat /people and `thidua people`).

A deactivated person gets no reminders and cannot report or use the bot; their
reports stay, and only an admin brings them back (a new invite does not).
"""

from __future__ import annotations

from domain.access import Action
from domain.errors import UserInputError
from domain.text import fold
from runtime import access
from runtime.context import Ctx
from runtime.routes import ADMINS, Command, Feature, HelpEntry
from usecases import people
from usecases.access import Caller

_VERBS = {
    "list": "list",
    "danh sach": "list",
    "deactivate": "deactivate",
    "khoa": "deactivate",
    "reactivate": "reactivate",
    "mo": "reactivate",
    "mo khoa": "reactivate",
}


async def people_cmd(ctx: Ctx) -> None:
    """/people, /people deactivate ID, /people reactivate ID: admins only."""
    caller = await access.caller(ctx)
    words = ctx.inbound.args.split()
    number = words.pop() if words and words[-1].lstrip("#").isdigit() else ""
    verb = _VERBS.get(fold(" ".join(words)) or "list")
    if verb is None:
        raise UserInputError("people.usage")
    if verb == "list":
        if number:
            raise UserInputError("people.usage")
        await _list(ctx, caller)
        return
    if not number:
        raise UserInputError("people.usage")
    person_id = int(number.lstrip("#"))
    person = await people.set_active(ctx.tx, caller, person_id, verb == "reactivate")
    key = "people.reactivated" if person.active else "people.deactivated"
    ctx.reply(ctx.t(key, id=person.id, name=person.name, unit=_unit(ctx, person.unit_code)))


async def _list(ctx: Ctx, caller: Caller) -> None:
    everyone = await people.listing(ctx.tx, caller)
    lines = [ctx.t("people.title", count=sum(p.active for p in everyone))]
    for p in everyone:
        state = "" if p.active else f" · {ctx.t('people.inactive')}"
        lines.append(f"#{p.id} {p.name} · {_unit(ctx, p.unit_code)} · {p.role.value}{state}")
    lines.append(ctx.t("people.how"))
    ctx.reply("\n".join(lines))


def _unit(ctx: Ctx, code: str) -> str:
    unit = ctx.settings.units.get(code)
    return unit.name if unit else code


FEATURE = Feature(
    name="people",
    commands={"people": Command(people_cmd, Action.MANAGE_PEOPLE, menu=ADMINS)},
    help=(HelpEntry("people.help", 60, Action.MANAGE_PEOPLE),),
)
