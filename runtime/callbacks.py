"""Typed button data: `<flow id>:<action>[:<arg>]`, always within Telegram's 64 bytes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.messages import Button

MAX_BYTES = 64


class Action(StrEnum):
    INDICATOR = "i"
    CHOICE = "c"
    SKIP = "s"
    DEFAULT = "d"
    BACK = "b"
    SAVE = "ok"
    EDIT = "ed"
    EDIT_FIELD = "f"
    CANCEL = "x"
    AMBIGUOUS = "a"
    NUMBER_FIELD = "nf"
    PHOTOS_DONE = "pd"
    RETRACT = "rt"
    RETRACT_YES = "ry"
    RETRACT_NO = "rn"
    EDIT_REPORT = "er"


@dataclass(frozen=True, slots=True)
class CallbackData:
    flow_id: str
    action: Action
    arg: str = ""

    def pack(self) -> str:
        raw = f"{self.flow_id}:{self.action.value}" + (f":{self.arg}" if self.arg else "")
        if len(raw.encode()) > MAX_BYTES:
            raise ValueError(f"callback data over {MAX_BYTES} bytes: {raw!r}")
        return raw

    @classmethod
    def unpack(cls, raw: str) -> CallbackData | None:
        """None for anything we did not produce (old formats, tampering)."""
        parts = raw.split(":", 2)
        if len(parts) < 2 or len(raw.encode()) > MAX_BYTES:
            return None
        try:
            action = Action(parts[1])
        except ValueError:
            return None
        return cls(parts[0], action, parts[2] if len(parts) == 3 else "")

    def button(self, label: str, *, nav: bool = False) -> Button:
        return Button(label=label, data=self.pack(), nav=nav)
