"""Invite codes: unguessable, yet typeable on a phone keyboard.

16 Crockford base32 characters carry 80 random bits, shown in groups of four
(K7QM-3XHP-9RT2-WD4N). Reading back forgives case, spaces, dashes and the
look-alikes O/0 and I/L/1.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace

from domain.messages import Inbound, InboundKind

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 16
RANDOM_BYTES = 10  # 80 bits = 16 × 5 bits

_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})


def code_from_bytes(random: bytes) -> str:
    """The canonical code for 10 random bytes (the caller brings the randomness)."""
    if len(random) != RANDOM_BYTES:
        raise ValueError(f"need {RANDOM_BYTES} random bytes")
    number = int.from_bytes(random, "big")
    chars = [ALPHABET[(number >> (5 * i)) & 31] for i in range(CODE_LENGTH)]
    return "".join(reversed(chars))


def display(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalize(text: str) -> str | None:
    """The canonical code for what a person typed, or None if it cannot be one."""
    cleaned = "".join(ch for ch in text.upper() if ch not in " -_.\t").translate(_LOOKALIKES)
    if len(cleaned) != CODE_LENGTH or any(ch not in ALPHABET for ch in cleaned):
        return None
    return cleaned


def code_hash(normalized_code: str) -> str:
    """Codes are never stored in clear: a leaked database leaks no usable invite."""
    return hashlib.sha256(normalized_code.encode()).hexdigest()


SEALED = "sha256:"
SECRET_COMMANDS = frozenset({"start", "link"})
_NOT_A_CODE = SEALED + "-"


def seal(typed: str) -> str:
    """What is kept of a typed code: the hash it is looked up by (80 random bits behind it,
    so the hash cannot be turned back into the code), or a mark that it could not be one."""
    code = normalize(typed)
    return SEALED + code_hash(code) if code else _NOT_A_CODE


def typed_hash(args: str) -> str | None:
    """The lookup hash of a code as the handler receives it: sealed by the inbox, or (from
    callers that bypass it) in clear; None when it cannot be a code."""
    args = args.strip()
    if args.startswith(SEALED):
        digest = args[len(SEALED) :]
        return digest if len(digest) == 64 else None
    code = normalize(args)
    return code_hash(code) if code else None


def seal_inbound(inbound: Inbound) -> Inbound:
    """/start CODE and /link CODE as they may be stored (inbox) and logged: the code
    replaced by its hash, which is all the handler needs, even after a crash."""
    if (
        inbound.kind != InboundKind.COMMAND
        or inbound.command not in SECRET_COMMANDS
        or not inbound.args.strip()
        or inbound.args.startswith(SEALED)
    ):
        return inbound
    return replace(inbound, args=seal(inbound.args), text=f"/{inbound.command} {MASK}")


MASK = "****"
_CODE_SHAPED = re.compile(
    r"(?<![0-9A-Za-z])(?:[0-9A-Za-z]{4}[-_. ]?){3}[0-9A-Za-z]{4}(?![0-9A-Za-z])"
)


def mask_codes(text: str) -> str:
    """Every invite- or link-code-shaped string (16 letters and digits, maybe in groups of
    four) masked: for log lines and for messages kept after delivery."""
    return _CODE_SHAPED.sub(MASK, text)
