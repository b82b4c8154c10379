"""The one error hierarchy of thidua.

Every error a user can cause carries a catalog key and parameters, so the
handler that catches it can answer politely in the person's language without
knowing where it came from.
"""

from __future__ import annotations

from typing import Any


class ThiduaError(Exception):
    """Base of every error raised on purpose by thidua."""


class ConfigError(ThiduaError):
    """The configuration is invalid; `problems` holds (toml_path, message) pairs."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{path}: {msg}" for path, msg in problems))


class ConfigRule(ValueError):
    """A configuration rule a model checks itself, said from the catalog.

    `key` names a line under [config.rule] in the catalogs, `params` fill its
    placeholders (already shown as the TOML author wrote them), and `path`,
    when set, is the sub-key the problem is on ("max" for
    `indicators[0].fields[0].max`). `english` is the same sentence for anyone
    reading the exception outside the command line; domain/ reads no catalog.
    A ValueError, so pydantic reports it where the rule was broken.
    """

    def __init__(self, key: str, english: str, *, path: str = "", **params: Any) -> None:
        self.key = key
        self.path = path
        self.params = params
        self.english = english.format(**params)
        super().__init__(f"{path}: {self.english}" if path else self.english)


class UserInputError(ThiduaError):
    """Input a person typed that cannot be accepted; rendered from the catalog.

    `hint_key`, when set, names a catalog line said after the message: what
    does work ("2 triệu", "2tr", "2.000.000"), so a refusal never leaves the
    person guessing what to type instead.
    """

    hint_key: str = ""

    def __init__(self, key: str, **params: Any) -> None:
        self.key = key
        self.params = params
        super().__init__(f"{key} {params}")

    def with_hint(self, hint_key: str) -> UserInputError:
        """The same error, followed by the catalog line `hint_key` when shown."""
        self.hint_key = hint_key
        return self


class AmbiguousNumber(UserInputError):
    """Input like "1.5" that could mean two values: we ask rather than guess.

    `options` are the distinct readings, in the order offered; `prompt_key` is
    the question asked with them ("1.500 or 15?", or for a range "which
    one?"), with the parameters `text` and `options`.
    """

    def __init__(
        self,
        text: str,
        options: tuple[float | int, ...],
        *,
        key: str = "err.ambiguous_number",
        prompt_key: str = "report.ambiguous",
    ) -> None:
        super().__init__(key, text=text)
        self.options = options
        self.prompt_key = prompt_key


class AccessDenied(UserInputError):
    """The access policy refused: `key` is the polite reason it names
    (`domain.access.Decision.reason`). The one error every use case raises on refusal."""


class StorageError(ThiduaError):
    """The database refused an operation (integrity, migration)."""


class IntegrityViolation(StorageError):
    """A write broke a rule of the schema (a unit that does not exist, a key used twice)."""


class DatabaseUnavailable(StorageError):
    """The database cannot take writes for now (disk full, read-only, locked too long).

    Nothing of the transaction was kept; the work is done again once it can be.
    """


class DatabaseLost(StorageError):
    """The database file was deleted or replaced under the running process: stop serving."""


class DatabaseMissing(StorageError):
    """A database that existed before is gone at start; refuse to start afresh silently."""


class DatabaseUnreachable(StorageError):
    """At start, the database server refused us for good (wrong address, name or password)."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason


class DatabaseInUse(StorageError):
    """Another process holds the database; `holder` says which (pid, host, since)."""

    def __init__(self, path: str, holder: str) -> None:
        super().__init__(f"{path} is in use by {holder or 'another process'}")
        self.path = path
        self.holder = holder


class DeliveryError(ThiduaError):
    """A messenger refused a message; `permanent` tells the outbox whether to retry,
    `unreachable` that the person cannot get messages at all (blocked the bot)."""

    def __init__(
        self,
        reason: str,
        *,
        permanent: bool,
        retry_after: float | None = None,
        unreachable: bool = False,
    ) -> None:
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after
        self.unreachable = unreachable
        super().__init__(reason)


class MediaTooLarge(ThiduaError):
    """A photo to download is larger than the evidence store accepts (known from the
    platform's stated size, or counted while downloading, which then stops)."""

    def __init__(self, size: int | None, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(f"{size if size is not None else 'more than ' + str(limit)} bytes")


class ChannelStartError(ThiduaError):
    """A messenger could not be connected at start; `reason` is one of REASONS.

    Raised by the channel adapter that knows its messenger's errors, with a
    `detail` that is safe to print (never the token), so the command line can
    say in one line what went wrong instead of showing a traceback.
    """

    REASONS = ("token", "network", "refused")  # each has a line cli.reason_<reason>

    def __init__(self, channel: str, reason: str, detail: str = "") -> None:
        self.channel = channel
        self.reason = reason
        self.detail = detail
        super().__init__(f"{channel}: {reason} {detail}".strip())
