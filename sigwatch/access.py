"""Who may do what: the roles of the console's signed-in users and of Slack's buttons.

    viewer   reads every page
    oncall   and acknowledges and silences the alerts of the signals it is on call for: its
             ``for`` lists on-call channels (``#acu-oncall``) or owner teams (``acu-signals``),
             matched against each signal's ``oncall`` and ``owner``; without ``for``, every signal
    admin    and every signal, every silence

Roles come from a small YAML file named by ``SIGWATCH_ROLES``::

    default: viewer            # anyone who signs in and is not listed: viewer (default) or none
    people:
      lead@example.com: admin
      bob@example.com:
        role: oncall
        for: ["#acu-oncall", acu-entities]
        slack: U02BOB          # the Slack user who is this person (Slack's buttons)

or, for a small team, from the environment: ``SIGWATCH_ADMINS`` and ``SIGWATCH_ONCALL``, comma
lists of identities (on call for every signal). A person is named by the identity the sign-in
provider gives (its e-mail, else its subject), compared without case. Slack's buttons act only
for people whose ``slack`` user id is listed.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import yaml

from sigwatch.model import Signal

log = logging.getLogger(__name__)
SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,}")


class Role(StrEnum):
    NONE = "none"
    VIEWER = "viewer"
    ONCALL = "oncall"
    ADMIN = "admin"


ROLES = (Role.VIEWER, Role.ONCALL, Role.ADMIN)


class RolesError(ValueError):
    """A roles file or variable that cannot be read; the message names where and what is
    allowed."""


@dataclass(frozen=True)
class Person:
    identity: str
    role: Role
    scope: frozenset[str] = frozenset()  # on-call channels or owner teams; empty: all
    slack: str | None = None

    def can_act(self, signal: Signal | None) -> bool:
        """May acknowledge and silence alerts of ``signal`` (None: a silence that names no
        signal, which covers every signal: admins and unscoped on-call only)."""
        if self.role is Role.ADMIN:
            return True
        if self.role is not Role.ONCALL:
            return False
        if not self.scope:
            return True
        return signal is not None and bool(self.scope & {signal.oncall, signal.owner})

    @property
    def can_read(self) -> bool:
        return self.role is not Role.NONE

    def describe(self) -> str:
        if self.role is Role.ONCALL and self.scope:
            return f"on call for {', '.join(sorted(self.scope))}"
        return {
            Role.ONCALL: "on call for every signal",
            Role.ADMIN: "admin",
            Role.VIEWER: "viewer",
            Role.NONE: "no role",
        }[self.role]


@dataclass(frozen=True)
class Roles:
    default: Role = Role.VIEWER
    people: Mapping[str, Person] = field(default_factory=dict)  # by lower-cased identity
    source: str = "defaults"

    def person(self, identity: str) -> Person:
        known = self.people.get(identity.strip().lower())
        return known if known is not None else Person(identity, self.default)

    def by_slack(self, user_id: str) -> Person | None:
        """The listed person who is this Slack user, or None."""
        return next((p for p in self.people.values() if p.slack == user_id), None)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Roles:
        env = os.environ if environ is None else environ
        path = env.get("SIGWATCH_ROLES", "").strip()
        roles = cls.load(Path(path)) if path else cls()
        extra: dict[str, Person] = {}
        for variable, role in (("SIGWATCH_ADMINS", Role.ADMIN), ("SIGWATCH_ONCALL", Role.ONCALL)):
            for identity in _identities(env.get(variable, "")):
                key = identity.lower()
                if key in roles.people or key in extra:
                    raise RolesError(
                        f"environment variable {variable}: {identity!r} is already given a role"
                        f" (in {roles.source if key in roles.people else 'SIGWATCH_ADMINS'}); "
                        "give each person one role"
                    )
                extra[key] = Person(identity, role)
        if not extra:
            return roles
        source = " and ".join(filter(None, [path, "the environment"]))
        return cls(roles.default, {**roles.people, **extra}, source)

    @classmethod
    def load(cls, path: Path) -> Roles:
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise RolesError(f"SIGWATCH_ROLES: cannot read {path}: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise RolesError(f"{path}: not YAML: {exc}") from None
        return cls.parse(raw if raw is not None else {}, str(path))

    @classmethod
    def parse(cls, raw: object, source: str) -> Roles:
        if not isinstance(raw, dict):
            raise RolesError(f"{source}: expected a mapping with keys default, people")
        unknown = sorted(set(raw) - {"default", "people"})
        if unknown:
            raise RolesError(f"{source}: unknown key {unknown[0]!r}; allowed: default, people")
        default = raw.get("default", "viewer")
        if default not in ("viewer", "none"):
            raise RolesError(f"{source}: default: {default!r}; allowed: viewer, none")
        people_raw = raw.get("people") or {}
        if not isinstance(people_raw, dict):
            raise RolesError(f"{source}: people: expected a mapping of identity to role")
        people: dict[str, Person] = {}
        for identity, entry in people_raw.items():
            person = _person(str(identity), entry, f"{source}: people.{identity}")
            key = person.identity.lower()
            if key in people:
                raise RolesError(f"{source}: people.{identity}: listed twice (case is ignored)")
            people[key] = person
        slack_ids = [p.slack for p in people.values() if p.slack]
        twice = sorted({s for s in slack_ids if slack_ids.count(s) > 1})
        if twice:
            raise RolesError(f"{source}: Slack user {twice[0]} is given to two people")
        return cls(Role(default), people, source)


class LiveRoles:
    """The roles as ``SIGWATCH_ROLES`` says now, for a long-running process (``serve``): the
    file is read again when it changes (its size or modification time), so a person removed
    from on-call loses their rights at the next request, not at the next restart. A change
    that does not parse is refused: the last good roles stay, and the problem is logged once.
    Call it for the current ``Roles``."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = dict(os.environ if environ is None else environ)
        path = self.environ.get("SIGWATCH_ROLES", "").strip()
        self.path = Path(path) if path else None
        self._lock = threading.Lock()
        self._stamp = self._stat()
        self._roles = Roles.from_env(self.environ)  # a bad file at start: RolesError
        self._refused: tuple[int, int] | None = None

    def _stat(self) -> tuple[int, int] | None:
        if self.path is None:
            return None
        try:
            seen = self.path.stat()
        except OSError:
            return None
        return seen.st_mtime_ns, seen.st_size

    def __call__(self) -> Roles:
        stamp = self._stat()
        with self._lock:
            if stamp == self._stamp or stamp is None or stamp == self._refused:
                return self._roles
            try:
                self._roles = Roles.from_env(self.environ)
            except RolesError as exc:
                self._refused = stamp
                log.warning("roles not changed (the last good roles stay): %s", exc)
                return self._roles
            self._stamp, self._refused = stamp, None
            log.info("roles read again from %s: %d people", self.path, len(self._roles.people))
            return self._roles


def _person(identity: str, entry: object, where: str) -> Person:
    allowed = ", ".join(ROLES)
    if isinstance(entry, str):
        entry = {"role": entry}
    if not isinstance(entry, dict):
        raise RolesError(f"{where}: expected a role ({allowed}) or a mapping with role, for, slack")
    unknown = sorted(set(entry) - {"role", "for", "slack"})
    if unknown:
        raise RolesError(f"{where}: unknown key {unknown[0]!r}; allowed: role, for, slack")
    role = entry.get("role")
    if role not in ROLES:
        raise RolesError(f"{where}.role: {role!r} is not a role; allowed: {allowed}")
    scope = entry.get("for") or []
    if isinstance(scope, str):
        scope = [scope]
    if not isinstance(scope, list) or not all(isinstance(s, str) and s.strip() for s in scope):
        raise RolesError(f"{where}.for: expected a list of on-call channels or owner teams")
    if scope and role != Role.ONCALL:
        raise RolesError(f"{where}.for: only an oncall role is limited to signals ({role} is not)")
    slack = entry.get("slack")
    if slack is not None and not (isinstance(slack, str) and SLACK_USER.fullmatch(slack)):
        raise RolesError(f"{where}.slack: {slack!r} is not a Slack user id (like U02ABCDEF)")
    return Person(identity, Role(role), frozenset(s.strip() for s in scope), slack)


def _identities(text: str) -> Iterable[str]:
    return [part.strip() for part in text.split(",") if part.strip()]
