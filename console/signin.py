"""Who is looking at the console, and what they may do: its three modes.

    signin     an ``[auth]`` section is configured (Streamlit's OIDC sign-in, ``st.login``):
               nothing but the sign-in page until signed in; the role comes from
               ``SIGWATCH_ROLES`` by the identity the provider gives (its verified e-mail,
               else its subject); acks and silences are recorded under it
    local      no sign-in, served on a loopback address only: the person running it (the
               system user), who may do anything; said at the top of every page. On any other
               address (``streamlit run`` listens on every interface by default) the console
               refuses to open
    anonymous  no sign-in, served to other machines (``--allow-anonymous``): anyone, in any
               name they type; a red warning on every page

``sigwatch console`` decides (``SIGWATCH_CONSOLE_MODE``); a console started with
``streamlit run`` that finds ``[auth]`` in its secrets signs in too.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass

import streamlit as st

from sigwatch.access import Person, Role, Roles, RolesError

SIGNIN, LOCAL, ANONYMOUS = "signin", "local", "anonymous"


@dataclass(frozen=True)
class Viewer:
    """The person looking, and whether the name an action records is typed (anonymous)."""

    person: Person
    mode: str

    @property
    def typed(self) -> bool:
        return self.mode == ANONYMOUS

    @property
    def identity(self) -> str:
        return self.person.identity


def auth_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: Streamlit raises its own not-found error
        return False


def mode() -> str:
    said = os.environ.get("SIGWATCH_CONSOLE_MODE")
    if said == SIGNIN or auth_configured():
        return SIGNIN
    return ANONYMOUS if said == ANONYMOUS else LOCAL


ROLE_SOURCES = ("SIGWATCH_ROLES", "SIGWATCH_ADMINS", "SIGWATCH_ONCALL")


@st.cache_resource(ttl=60, show_spinner=False)
def _roles(sources: tuple[str, ...]) -> Roles:
    """The roles, read again a minute after an edit of the file, and at once when the
    variables that say where they come from change (``sources``: their values, the key)."""
    return Roles.from_env()


def viewer() -> Viewer:
    """Who is looking (pages call it); ``gate`` has already stopped anyone who may not."""
    current = mode()
    if current == SIGNIN:
        sources = tuple(os.environ.get(name, "") for name in ROLE_SOURCES)
        return Viewer(_roles(sources).person(identity(st.user)), current)
    who = getpass.getuser()
    return Viewer(Person(who, Role.ADMIN), current)


def identity(claims) -> str:
    """Who the provider says this is: the e-mail, only when the provider has verified it
    (``email_verified``), else the subject. A provider that lets people set an unverified
    address would otherwise let anyone take the identity, and the role, of an admin."""
    verified = claims.get("email_verified") in (True, "true", "True")
    email = claims.get("email")
    return str(email if email and verified else claims.get("sub") or "")


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def loopback_only() -> bool:
    """Whether this Streamlit server answers on this machine only: bound to a loopback
    address (``sigwatch console`` binds 127.0.0.1). Streamlit's default, no address, listens
    on every interface."""
    address = str(st.get_option("server.address") or "").strip().strip("[]")
    return address in LOOPBACK or address.startswith("127.")


def gate() -> Viewer:
    """Before any page: the sign-in page for whoever is not signed in, a refusal for whoever
    has no role; else who is looking, said in the sidebar with a way to sign out."""
    current = mode()
    if current == ANONYMOUS:
        st.error(
            "**No sign-in, and served to other machines** (`--allow-anonymous`): anyone who "
            "reaches this console can acknowledge and silence alerts, in any name.",
            icon=":material/warning:",
        )
        return viewer()
    if current == LOCAL:
        if not loopback_only():  # no sign-in must never mean admin for the whole network
            st.title("sigwatch")
            shown = st.get_option("server.address") or "every interface"
            st.error(
                f"This console has no sign-in and listens on {shown}, not on this machine "
                "only, so it does not open. Start it with `sigwatch console` (127.0.0.1), or "
                "`streamlit run console/app.py --server.address 127.0.0.1`; to serve other "
                "machines, configure sign-in (`sigwatch console --secrets`), or accept anyone "
                "in any name with `sigwatch console --host H --allow-anonymous`.",
                icon=":material/block:",
            )
            st.stop()
        st.caption(
            ":material/lock_open: **Local mode**: no sign-in; the console answers on this "
            "machine (127.0.0.1) only, and acknowledgements carry your system user's name."
        )
        return viewer()
    if not auth_configured():  # never fall back to no sign-in on an open address
        st.error("Sign-in is required, but Streamlit found no [auth] section in its secrets.")
        st.stop()
    if not st.user.is_logged_in:
        _signin_page()
        st.stop()
    try:
        who = viewer()
    except RolesError as exc:
        st.error(f"The console's roles cannot be read: {exc}", icon=":material/error:")
        st.stop()
    with st.sidebar:
        st.caption(f":material/account_circle: **{who.identity}** · {who.person.describe()}")
        if st.button("Sign out", icon=":material/logout:"):
            st.logout()
    if not who.person.can_read:
        st.title("sigwatch")
        st.warning(
            f"You are signed in as **{who.identity}**, who has no role in sigwatch. Ask an "
            "admin to add you to its roles (`SIGWATCH_ROLES`).",
            icon=":material/block:",
        )
        st.stop()
    return who


def _signin_page() -> None:
    st.title("sigwatch")
    st.subheader("The SLO console for machine-learning signals")
    st.write("Sign in to see the signals' SLOs, alerts and trends.")
    auth = st.secrets["auth"]
    named = [k for k, v in auth.items() if hasattr(v, "keys")]  # [auth.NAME] providers
    if "client_id" in auth or not named:
        if st.button("Sign in", type="primary", icon=":material/login:"):
            st.login()
        return
    for name in named:
        if st.button(f"Sign in with {name}", icon=":material/login:", key=f"login-{name}"):
            st.login(name)


def can_act_note(who: Viewer) -> str:
    """Why the controls that change alert state are missing (a viewer, or on call for other
    signals)."""
    if who.person.role is Role.ONCALL:
        return (
            f"You ({who.identity}) are {who.person.describe()}: you acknowledge and silence "
            "the alerts of those signals only."
        )
    return (
        f"You ({who.identity}) are a {who.person.describe()}: acknowledging and silencing "
        "alerts needs the on-call role for the signal (ask an admin: SIGWATCH_ROLES)."
    )
