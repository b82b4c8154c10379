"""Invite codes: unguessable, yet typeable on a phone keyboard.

16 Crockford base32 characters carry 80 random bits, shown in groups of four
(K7QM-3XHP-9RT2-WD4N). Reading back forgives case, spaces, dashes and the
look-alikes O/0 and I/L/1.
"""

from __future__ import annotations

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
