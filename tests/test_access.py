"""Roles: who may read, and who may acknowledge and silence which signal's alerts."""

from __future__ import annotations

import pytest

from sigwatch.access import Person, Role, Roles, RolesError

ROLES_YAML = """\
default: viewer
people:
  Lead@Example.com: admin
  bob@example.com:
    role: oncall
    for: ["#acu-oncall"]
    slack: U02BOB
  erin@example.com: {role: oncall, for: acu-entities}
  olga@example.com: {role: oncall, slack: W0OLGA}
  vic@example.com: viewer
"""


@pytest.fixture
def roles(tmp_path):
    path = tmp_path / "roles.yaml"
    path.write_text(ROLES_YAML)
    return Roles.load(path)


@pytest.mark.parametrize(
    ("identity", "signal", "allowed"),
    [
        ("lead@example.com", "content_type", True),
        ("lead@example.com", None, True),
        ("bob@example.com", "content_type", True),  # on call: its channel is #acu-oncall
        ("bob@example.com", "product_entities", False),  # another channel and team
        ("bob@example.com", None, False),  # a silence of an SLO name across every signal
        ("erin@example.com", "product_entities", True),  # by owner team
        ("erin@example.com", "product_category", True),
        ("erin@example.com", "sentiment", False),
        ("olga@example.com", "commercial_intent", True),  # unscoped on-call: every signal
        ("olga@example.com", None, True),
        ("vic@example.com", "content_type", False),  # a viewer reads only
        ("someone@else.org", "content_type", False),  # unlisted: the default, viewer
    ],
    ids=lambda v: str(v),
)
def test_who_may_act_on_which_signal(roles, registry, identity, signal, allowed):
    person = roles.person(identity)
    assert person.can_act(registry.get(signal) if signal else None) is allowed
    assert person.can_read


def test_identities_match_without_case_and_slack_users_map_to_people(roles):
    assert roles.person("LEAD@example.COM").role is Role.ADMIN
    assert roles.by_slack("U02BOB").identity == "bob@example.com"
    assert roles.by_slack("W0OLGA").role is Role.ONCALL
    assert roles.by_slack("U999NOBODY") is None
    assert roles.person("bob@example.com").describe() == "on call for #acu-oncall"


def test_default_none_refuses_whoever_is_not_listed(tmp_path):
    path = tmp_path / "roles.yaml"
    path.write_text("default: none\npeople: {a@x.org: viewer}\n")
    roles = Roles.load(path)
    assert not roles.person("b@x.org").can_read
    assert roles.person("a@x.org").can_read


def test_roles_from_the_environment_beside_the_file(tmp_path):
    path = tmp_path / "roles.yaml"
    path.write_text(ROLES_YAML)
    env = {
        "SIGWATCH_ROLES": str(path),
        "SIGWATCH_ONCALL": " pat@x.org, quinn@x.org ",
        "SIGWATCH_ADMINS": "root@x.org",
    }
    roles = Roles.from_env(env)
    assert roles.person("quinn@x.org").role is Role.ONCALL
    assert roles.person("root@x.org").role is Role.ADMIN
    assert roles.person("bob@example.com").scope == {"#acu-oncall"}
    assert Roles.from_env({}) == Roles()
    with pytest.raises(RolesError, match=r"SIGWATCH_ONCALL: 'bob@example\.com' is already given"):
        Roles.from_env({"SIGWATCH_ROLES": str(path), "SIGWATCH_ONCALL": "bob@example.com"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "people: {a@x.org: owner}",
            r"people.a@x.org.role: 'owner' is not a role; allowed: "
            "viewer, oncall, admin",
        ),
        ("default: admin", "default: 'admin'; allowed: viewer, none"),
        ("peeple: {}", "unknown key 'peeple'; allowed: default, people"),
        ("people: {a@x.org: {role: admin, for: [x]}}", "only an oncall role is limited"),
        ("people: {a@x.org: {role: oncall, slack: bob}}", "'bob' is not a Slack user id"),
        ("people: {a@x.org: {role: oncall, team: x}}", "unknown key 'team'; allowed: role, for"),
        (
            "people: {a@x.org: {role: oncall, slack: U1AB}, b@x.org: {role: oncall, slack: U1AB}}",
            "Slack user U1AB is given to two people",
        ),
        ("people: {a@x.org: admin, A@X.org: viewer}", "listed twice"),
        ("people: [a, b]", "people: expected a mapping"),
        ("[1, 2]", "expected a mapping with keys default, people"),
        ("people: {a: [", "not YAML"),
    ],
    ids=lambda v: v[:40],
)
def test_a_bad_roles_file_names_the_file_and_the_field(tmp_path, text, message):
    path = tmp_path / "roles.yaml"
    path.write_text(text)
    with pytest.raises(RolesError, match=message.replace("[", r"\[")) as caught:
        Roles.load(path)
    assert str(path) in str(caught.value)


def test_a_missing_roles_file_says_which_variable_named_it(tmp_path):
    with pytest.raises(RolesError, match=r"SIGWATCH_ROLES: cannot read .*nope.yaml"):
        Roles.from_env({"SIGWATCH_ROLES": str(tmp_path / "nope.yaml")})


def test_a_person_without_a_role_cannot_act():
    assert not Person("x", Role.NONE).can_act(None)
    assert not Person("x", Role.NONE).can_read
