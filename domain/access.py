"""Who may do what: one policy (action × role × scope) for the chat, the CLI and the dashboard.

The policy is data (`POLICY`) read by one pure function (`decide`). An actor
carries what the person is (their stored role and unit) and the clusters
their unit heads or deputises *this year*, taken from that year's cluster
membership in the configuration, never from the person: heads rotate yearly.
A target says what a request is about: a unit, a cluster (in a linked group:
the group's cluster, not the sender's) or the whole federation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from domain.models import ClusterRole, Role


class Action(StrEnum):
    """Everything a person can ask the bot to do, by command, menu or button."""

    START = "start"  # /start CODE
    HELP = "help"
    LANG = "lang"
    LINK = "link"  # /link, /link CODE
    CANCEL = "cancel"  # leave a form
    CHANNEL = "channel"  # where reminders go
    REPORT = "report"  # report, quick report, edit, retract, my reports: the own unit's data
    REPORT_FOR_UNIT = "report_for_unit"  # /report UNIT: on behalf of another unit
    CHANGE_REPORT = "change_report"  # edit or retract a saved report
    ANSWER_REMINDER = "answer_reminder"  # the three buttons on a reminder
    DEADLINES = "deadlines"
    MUTE = "mute"  # /mute, /unmute
    VIEW_UNIT = "view_unit"  # /unit [code]: one unit's progress
    VIEW_CLUSTER_STANDINGS = "view_cluster_standings"  # /standings, "Vì sao?"
    VIEW_ALL_STANDINGS = "view_all_standings"  # /standings all
    MISSING = "missing"
    COMPLETENESS = "completeness"
    EXPORT = "export"
    LINKGROUP = "linkgroup"
    SET_TARGET = "set_target"
    MANAGE_PEOPLE = "manage_people"  # /people, thidua people
    VIEW_PEOPLE = "view_people"  # the dashboard's people page: who reports for a cluster's units
    VIEW_TARGETS = "view_targets"  # the dashboard's targets page, read only
    WEB = "web"  # /web: a sign-in link to the dashboard (the roles that have pages)
    VIEW_REPORTS = "view_reports"  # the dashboard's reports table and a report's page
    REMIND = "remind"  # the dashboard's "Nhắc ngay": remind a unit that owes a report
    VIEW_EVIDENCE = "view_evidence"  # a report's photos (review card, dashboard)
    FINALIZE = "finalize"  # /finalize, thidua finalize: close a cluster's period for good
    REOPEN_PERIOD = "reopen_period"  # /reopen, thidua finalize --reopen: undo a finalising
    ASK_UNLOCK = "ask_unlock"  # "xin mở khóa": report or edit in a closed period
    DECIDE_UNLOCK = "decide_unlock"  # grant or refuse an unlock request
    REVIEW = "review"  # /review: whoever could review under some [review] configuration
    REVIEW_LED = "review_led"  # accept/return a unit's report, [review] by = "cluster"
    REVIEW_FEDERATION = "review_federation"  # the same, [review] by = "reviewer"


class ActorRole(StrEnum):
    UNREGISTERED = "unregistered"
    OFFICER = "officer"
    CHAIR = "chair"
    CLUSTER_HEAD = "cluster_head"  # this year, from the cluster membership
    CLUSTER_DEPUTY = "cluster_deputy"  # this year, from the cluster membership
    ADMIN = "admin"
    REVIEWER = "reviewer"  # the federation's reviewers (stored role)


class Scope(StrEnum):
    SELF = "self"  # the person's own account: no data of a unit is involved
    OWN_UNIT = "own_unit"
    OWN_REPORT = "own_report"  # a report the person wrote
    OWN_CLUSTER = "own_cluster"  # the cluster the person's unit belongs to this year
    LED_CLUSTER = "led_cluster"  # the cluster the person's unit heads / deputises this year
    LINKED_GROUP = "linked_group"  # the cluster of the group chat the request comes from
    ANY = "any"


@dataclass(frozen=True, slots=True)
class Actor:
    """The person asking, as the policy sees them."""

    role: ActorRole  # the stored role, reduced: unregistered, officer, chair or admin
    person_id: int | None = None
    unit: str | None = None
    cluster: str | None = None  # the unit's cluster in the year asked about (default: this)
    heads: frozenset[str] = frozenset()  # clusters headed this year
    deputises: frozenset[str] = frozenset()  # clusters deputised this year

    @property
    def roles(self) -> frozenset[ActorRole]:
        extra = set()
        if self.heads:
            extra.add(ActorRole.CLUSTER_HEAD)
        if self.deputises:
            extra.add(ActorRole.CLUSTER_DEPUTY)
        return frozenset({self.role, *extra})

    @property
    def led(self) -> frozenset[str]:
        return self.heads | self.deputises


@dataclass(frozen=True, slots=True)
class Target:
    """What a request is about. `in_group` when it comes from a group chat, and
    `group_cluster` the cluster that group is linked to (None when unlinked): a group
    is only ever answered about its own cluster, whoever asks."""

    unit: str | None = None
    cluster: str | None = None
    federation: bool = False
    author: int | None = None  # the person who wrote the report asked about
    in_group: bool = False
    group_cluster: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str = ""  # a catalog key saying why not, for the person


Grants = tuple[tuple[ActorRole, Scope], ...]

_R = ActorRole
_S = Scope
_EVERYONE: Grants = tuple((r, _S.SELF) for r in ActorRole)
_REGISTERED: Grants = (
    (_R.OFFICER, _S.SELF),
    (_R.CHAIR, _S.SELF),
    (_R.ADMIN, _S.SELF),
    (_R.REVIEWER, _S.SELF),
)
_LEADERS: Grants = (
    (_R.CLUSTER_HEAD, _S.LED_CLUSTER),
    (_R.CLUSTER_DEPUTY, _S.LED_CLUSTER),
    (_R.ADMIN, _S.ANY),
)

POLICY: Mapping[Action, Grants] = {
    Action.START: _EVERYONE,
    Action.HELP: _EVERYONE,
    Action.LANG: _EVERYONE,
    Action.LINK: _EVERYONE,
    Action.CANCEL: _EVERYONE,
    Action.CHANNEL: _REGISTERED,
    Action.DEADLINES: _REGISTERED,
    Action.MUTE: _REGISTERED,
    Action.REPORT: ((_R.OFFICER, _S.OWN_UNIT), (_R.CHAIR, _S.OWN_UNIT), (_R.ADMIN, _S.ANY)),
    Action.REPORT_FOR_UNIT: ((_R.ADMIN, _S.ANY),),
    Action.CHANGE_REPORT: (
        (_R.OFFICER, _S.OWN_REPORT),
        (_R.CHAIR, _S.OWN_REPORT),
        (_R.ADMIN, _S.OWN_REPORT),
    ),
    Action.ANSWER_REMINDER: (
        (_R.OFFICER, _S.OWN_UNIT),
        (_R.CHAIR, _S.OWN_UNIT),
        (_R.ADMIN, _S.OWN_UNIT),
    ),
    Action.VIEW_UNIT: (
        (_R.OFFICER, _S.OWN_CLUSTER),
        (_R.CHAIR, _S.OWN_CLUSTER),
        *_LEADERS,
    ),
    Action.VIEW_CLUSTER_STANDINGS: (
        *((r, _S.LINKED_GROUP) for r in ActorRole),
        (_R.OFFICER, _S.OWN_CLUSTER),
        (_R.CHAIR, _S.OWN_CLUSTER),
        *_LEADERS,
    ),
    Action.VIEW_ALL_STANDINGS: ((_R.ADMIN, _S.ANY),),
    Action.MISSING: _LEADERS,
    Action.COMPLETENESS: _LEADERS,
    Action.EXPORT: _LEADERS,
    Action.LINKGROUP: ((_R.CLUSTER_HEAD, _S.LED_CLUSTER), (_R.ADMIN, _S.ANY)),
    Action.SET_TARGET: ((_R.ADMIN, _S.ANY),),
    Action.MANAGE_PEOPLE: ((_R.ADMIN, _S.ANY),),
    Action.VIEW_PEOPLE: _LEADERS,
    Action.VIEW_TARGETS: _LEADERS,
    Action.WEB: (
        (_R.CLUSTER_HEAD, _S.SELF),
        (_R.CLUSTER_DEPUTY, _S.SELF),
        (_R.REVIEWER, _S.SELF),
        (_R.ADMIN, _S.SELF),
    ),
    Action.VIEW_REPORTS: (*_LEADERS, (_R.REVIEWER, _S.ANY)),
    Action.REMIND: _LEADERS,
    Action.VIEW_EVIDENCE: (
        (_R.OFFICER, _S.OWN_UNIT),
        (_R.CHAIR, _S.OWN_UNIT),
        *_LEADERS,
        (_R.REVIEWER, _S.ANY),
    ),
    Action.FINALIZE: ((_R.CLUSTER_HEAD, _S.LED_CLUSTER), (_R.ADMIN, _S.ANY)),
    Action.REOPEN_PERIOD: ((_R.ADMIN, _S.ANY),),
    Action.ASK_UNLOCK: (
        (_R.OFFICER, _S.OWN_UNIT),
        (_R.CHAIR, _S.OWN_UNIT),
        (_R.ADMIN, _S.OWN_UNIT),
    ),
    Action.DECIDE_UNLOCK: ((_R.CLUSTER_HEAD, _S.LED_CLUSTER), (_R.ADMIN, _S.ANY)),
    Action.REVIEW: (
        (_R.CLUSTER_HEAD, _S.LED_CLUSTER),
        (_R.CLUSTER_DEPUTY, _S.LED_CLUSTER),
        (_R.REVIEWER, _S.ANY),
        (_R.ADMIN, _S.ANY),
    ),
    Action.REVIEW_LED: ((_R.CLUSTER_HEAD, _S.LED_CLUSTER), (_R.CLUSTER_DEPUTY, _S.LED_CLUSTER)),
    Action.REVIEW_FEDERATION: ((_R.REVIEWER, _S.ANY), (_R.ADMIN, _S.ANY)),
}

# What a person without any role that could do it is told (a catalog key).
_ROLE_DENIED: Mapping[Action, str] = {
    Action.MISSING: "err.cluster_heads_only",
    Action.COMPLETENESS: "err.cluster_heads_only",
    Action.EXPORT: "err.cluster_heads_only",
    Action.LINKGROUP: "standings.linkgroup_heads_only",
    Action.VIEW_ALL_STANDINGS: "standings.admins_only",
    Action.SET_TARGET: "standings.admins_only",
    Action.MANAGE_PEOPLE: "standings.admins_only",
    Action.VIEW_PEOPLE: "err.cluster_heads_only",
    Action.VIEW_TARGETS: "err.cluster_heads_only",
    Action.REPORT_FOR_UNIT: "standings.admins_only",
    Action.WEB: "web.no_pages",
    Action.VIEW_REPORTS: "err.cluster_heads_only",
    Action.REMIND: "err.cluster_heads_only",
    Action.FINALIZE: "finalize.heads_only",
    Action.REOPEN_PERIOD: "standings.admins_only",
    Action.DECIDE_UNLOCK: "finalize.heads_only",
    Action.REVIEW: "review.reviewers_only",
    Action.REVIEW_LED: "review.reviewers_only",
    Action.REVIEW_FEDERATION: "review.reviewers_only",
}
_SCOPE_DENIED: Mapping[Action, str] = {
    Action.VIEW_UNIT: "standings.other_cluster",
    Action.VIEW_CLUSTER_STANDINGS: "standings.other_cluster",
    Action.ANSWER_REMINDER: "reminder.not_your_obligation",
    Action.CHANGE_REPORT: "err.not_your_report",
    Action.VIEW_EVIDENCE: "access.denied",
}
# Actions about something other than a cluster's data, which a group may ask about freely.
_NOT_ABOUT_A_CLUSTER = frozenset({Action.LINKGROUP, Action.HELP})


def _fits(actor: Actor, role: ActorRole, scope: Scope, target: Target) -> bool:
    if scope is Scope.SELF or scope is Scope.ANY:
        return True
    if target.federation:
        return False
    if scope is Scope.OWN_UNIT:
        return target.unit is not None and target.unit == actor.unit
    if scope is Scope.OWN_REPORT:
        return target.author is not None and target.author == actor.person_id
    if scope is Scope.OWN_CLUSTER:
        return target.cluster is not None and target.cluster == actor.cluster
    if scope is Scope.LED_CLUSTER:
        led = actor.heads if role is ActorRole.CLUSTER_HEAD else actor.deputises
        return target.cluster is not None and target.cluster in led
    if scope is Scope.LINKED_GROUP:
        return target.group_cluster is not None and target.cluster == target.group_cluster
    raise AssertionError(scope)  # pragma: no cover - every scope is handled above


def may_ever(actor: Actor, action: Action) -> Decision:
    """Whether any of the actor's roles could do `action` on some target: the router's
    first gate, before a handler knows the concrete target."""
    roles = actor.roles
    if any(role in roles for role, _ in POLICY[action]):
        return Decision(True)
    if actor.role is ActorRole.UNREGISTERED:
        return Decision(False, "err.not_registered")
    return Decision(False, _ROLE_DENIED.get(action, "access.denied"))


def decide(actor: Actor, action: Action, target: Target) -> Decision:
    """Allowed when one of the actor's roles is granted `action` in a scope the target fits."""
    gate = may_ever(actor, action)
    if not gate.allowed:
        return gate
    if (
        target.in_group
        and action not in _NOT_ABOUT_A_CLUSTER
        and (target.group_cluster is None or target.cluster != target.group_cluster)
    ):
        return Decision(False, "access.group_other_cluster")
    roles = actor.roles
    for role, scope in POLICY[action]:
        if role in roles and _fits(actor, role, scope, target):
            return Decision(True)
    if actor.role is ActorRole.UNREGISTERED:
        return Decision(False, "err.not_registered")
    return Decision(False, _SCOPE_DENIED.get(action, "access.not_your_cluster"))


def actor_for(
    stored_role: Role | None,
    unit: str | None,
    memberships: Mapping[str, tuple[str, ClusterRole]],
    asked_year: Mapping[str, tuple[str, ClusterRole]] | None = None,
    person_id: int | None = None,
) -> Actor:
    """The actor for a person (None: unregistered) given THIS year's memberships
    (unit → (cluster, role in it)); `asked_year`, when a request is about another
    year, says which cluster the unit was a member of then (its own cluster's data).

    A person invited as `cluster_head` acts for their unit in its cluster: they
    get head or deputy powers only while their unit is head or deputy this year.
    """
    if stored_role is None or unit is None:
        return Actor(ActorRole.UNREGISTERED)
    base = {
        Role.OFFICER: ActorRole.OFFICER,
        Role.CLUSTER_HEAD: ActorRole.OFFICER,
        Role.CHAIR: ActorRole.CHAIR,
        Role.ADMIN: ActorRole.ADMIN,
        Role.REVIEWER: ActorRole.REVIEWER,
    }[stored_role]
    found = memberships.get(unit)
    member_of = (asked_year if asked_year is not None else memberships).get(unit)
    cluster = member_of[0] if member_of else None
    heads: frozenset[str] = frozenset()
    deputises: frozenset[str] = frozenset()
    if found and stored_role is Role.CLUSTER_HEAD:
        if found[1] is ClusterRole.HEAD:
            heads = frozenset({found[0]})
        elif found[1] is ClusterRole.DEPUTY:
            deputises = frozenset({found[0]})
    return Actor(base, person_id, unit, cluster, heads, deputises)
