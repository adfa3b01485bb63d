"""From SLO states to alerts: open, update, acknowledge, silence, resolve — and what to announce.

Per (signal, SLO) the evaluation gives a condition: ``page`` (state breach on an SLO that may
page), ``ticket`` (breach on an SLO that may not page, or warning), or none. A signal whose
occurrence SLOs all turn ``no_data`` after having had data raises a page of its own
(pseudo-SLO ``no-data``): a stale signal is an incident. A timeslice SLO whose slices cannot be
judged (``insufficient_labels``, ``no_data``) is *unknown*, not healthy: it neither opens an
alert nor counts towards resolving one (late labels fill a day's slice in bursts; between them
the slice falls back to too few labels, which must not end the incident and open it again). Its
alert resolves when a slice is judged good.

- Dedup: at most one open alert per (signal, SLO, severity) key; later evaluations update it.
- Inhibition: a page supersedes an open ticket of the same SLO (the ticket resolves as
  ``superseded``). A page resolves when the page rules have been clear for the hold; the slow
  ticket windows (1d/2h, 3d/6h) go on remembering the incident for hours, so a ticket-level
  condition that continues from a page opens no ticket until the SLO has once been clear.
- Flap control: an alert resolves only after its condition has been clear for ``policy.hold``;
  a condition that returns within the hold continues the same alert.
- Inhibition of groups: a grouped SLO's alert that opens while an alert of a signal-level SLO
  of the same SLI kind is open (an outage breaks every community) is part of that incident: it
  is recorded (``Alert.inhibited_by``) but not announced until that alert has been
  resolved for ``INHIBIT_TAIL`` (what the slow ticket rules of its groups still remember).
- Silences: a silenced alert is recorded but not announced; when the silence ends, whatever
  is now true (still firing, or resolved after having been announced) is announced.

Announcements are outbox rows (``alerts.delivery`` sends them): the first is a post; a change
of state, a burn rate ``policy.worse`` times the last announced one, or a page still firing
``policy.renotify`` after its last announcement edits the post and adds a thread reply.

Grouped SLOs (``group_by``) alert like Alertmanager groups: one alert per (signal, SLO,
severity) lists the groups alerting at its severity (``Alert.groups``). A group that joins
or recovers edits the post and says so in the thread ("+ community=headphones (burn 22.0x)",
"- community=audio recovered"). A group that stops alerting stays listed (``clear_since``)
until it has been clear for ``policy.hold``, like an alert: a group that flaps within the hold
is announced neither as recovered nor as joining again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta

from alerts.model import (
    ACKNOWLEDGED,
    FIRING,
    MONITOR,
    PAGE,
    RESOLVED,
    STALE,
    TICKET,
    Alert,
    Policy,
    Silence,
    alert_key,
)
from alerts.render import render_alert, settled_line, slack_escape
from sigwatch.model import Budgeting, Registry, group_label
from sigwatch.states import (
    EstimateCheck,
    ListedGroup,
    MonitorFailure,
    Notified,
    OutboxKind,
    Outcome,
    Severity,
    SloState,
    Snapshot,
    Verdict,
)
from sigwatch.store import Failing, SloStatus
from sigwatch.store.alerts import SUPERSEDED, AlertTables
from sigwatch.units import format_duration

HOLD = "hold"  # a condition that is unknown: it neither opens nor resolves an alert
INHIBIT_TAIL = timedelta(hours=6)  # the slow ticket rule's short window
UNKNOWN = (SloState.INSUFFICIENT_LABELS, SloState.INSUFFICIENT_DATA, SloState.NO_DATA)


class AlertError(ValueError):
    """A request about alerts that cannot be carried out (unknown key, bad silence)."""


class Lifecycle:
    def __init__(self, records: AlertTables, registry: Registry, policy: Policy | None = None):
        self.records, self.registry = records, registry
        self.policy = policy or Policy()
        # during one evaluation: the alerts of its signals by key (what ``records.find``
        # answers), kept up to date by ``_save``, and the silences; read once, not per SLO
        self._known: dict[str, Alert] | None = None
        self._signals: set[str] = set()
        self._silences: list | None = None
        self._remember_silences = False

    @contextmanager
    def _remembering(self, signals: Iterable[str]) -> Iterator[None]:
        """Read the alerts of ``signals`` once, and the silences once when first needed, for
        what follows (one evaluation, inside its transaction: nothing else writes them
        meanwhile)."""
        self._signals = set(signals)
        self._known = self.records.latest_by_key(self._signals)
        self._remember_silences = True  # read on first need: a quiet evaluation has none
        try:
            yield
        finally:
            self._known, self._signals, self._silences = None, set(), None
            self._remember_silences = False

    def _find(self, key: str) -> Alert | None:
        if self._known is not None and key.split("/", 1)[0] in self._signals:
            return self._known.get(key)
        return self.records.find(key)

    def _save(self, alert: Alert) -> Alert:
        saved = self.records.save(alert)
        if self._known is not None and saved.signal in self._signals:
            self._known[saved.key] = saved  # the open one, or the latest: as find answers
        return saved

    # --- evaluation -----------------------------------------------------------------------

    def evaluate(
        self,
        statuses: Iterable[SloStatus],
        *,
        announce: bool = True,
        good_runs: Iterable[tuple[str, datetime]] = (),
    ) -> list[Alert]:
        """Apply one evaluation's statuses (any number of signals, one time each) and its
        ``good_runs`` (signal, time: each resolves the signal's ``monitor`` page, if open);
        return the alerts it touched. What it touched is announced (``announce=False``, a
        backfill's past times: recorded without writing to the outbox; the next announcing
        evaluation, or the outbox job, catches up). A quiet evaluation reads the signal's
        alerts and silences once and writes nothing."""
        by_signal: dict[str, list[SloStatus]] = defaultdict(list)
        for status in statuses:
            by_signal[status.signal].append(status)
        good_runs = list(good_runs)
        for signal, _ in good_runs:
            by_signal.setdefault(signal, [])
        touched: list[Alert] = []
        with self.records.store.transaction(), self._remembering(by_signal):
            for signal, at in good_runs:
                monitor = self._open(signal, MONITOR, PAGE)
                if monitor is not None:
                    touched.append(self._resolve(monitor, at, None))
            for signal, rows in by_signal.items():
                if not rows:
                    continue
                at = max(r.at for r in rows)
                for r in rows:
                    touched += self._settle(r, at)
                conditions = {r.slo: (self._condition(r), r) for r in rows}
                stale = self._stale(signal, rows, at)
                if stale is not None:
                    conditions[STALE] = (PAGE, stale)
                for slo, (condition, status) in conditions.items():
                    touched += self._apply(signal, slo, condition, status, at)
                if STALE not in conditions:  # the signal has data again
                    touched += self._apply(signal, STALE, None, None, at)
            if announce and touched:
                self.announce(max(a.updated_at for a in touched))
        return touched

    def monitor_failed(self, failing: Failing, threshold: int, at: datetime) -> Alert | None:
        """A signal's monitor failed again (``failing``: its failed runs since the last good
        one): from ``threshold`` failures in a row it pages on the pseudo-SLO ``monitor``,
        naming the error, the first failure and the count. Distinct from ``no-data``: the
        data may well be there; sigwatch cannot read it. Its statuses stay as they were
        (stale), so no SLO alert opens or resolves meanwhile."""
        if failing.failures < threshold:
            return None
        failure = MonitorFailure(
            reason=failing.error.splitlines()[0] if failing.error else "unknown error",
            failures=failing.failures,
            since=failing.since,
            last_ok=failing.last_ok,
            at=at,
        )
        with self.records.store.transaction():
            alert = self._open(failing.signal, MONITOR, PAGE)
            silenced = self._silenced(failing.signal, MONITOR, at)
            if alert is None:
                alert = self._save(
                    Alert(
                        id=None,
                        key=alert_key(failing.signal, MONITOR, PAGE),
                        signal=failing.signal,
                        slo=MONITOR,
                        severity=PAGE,
                        state=FIRING,
                        started_at=at,
                        updated_at=at,
                        channel=self.registry.get(failing.signal).oncall,
                        silenced=silenced,
                        failure=failure,
                    )
                )
                self.records.add_event(alert.id, at, "opened", f"monitor failing: {failure.reason}")
            else:
                alert = self._save(
                    replace(alert, updated_at=at, silenced=silenced, failure=failure)
                )
            self.announce(at)
        return alert

    def monitor_ok(self, signal: str, at: datetime) -> Alert | None:
        """A good run of ``signal``'s monitor: its ``monitor`` page, if open, resolves now (no
        hold: a run that succeeds is proof, not a sample)."""
        touched = self.evaluate([], good_runs=[(signal, at)])
        return touched[0] if touched else None

    def _condition(self, status: SloStatus) -> str | None:
        slo = self.registry.get(status.signal).slo(status.slo)
        if status.verdict_from is not None and status.verdict_from.estimate:
            return self._estimated_condition(status, slo.alerting.ticket)
        if slo.objective.budgeting is Budgeting.TIMESLICES and status.state in UNKNOWN:
            return HOLD
        if status.grouped and status.grouped.unknown and self._listed_unknown(status):
            return HOLD  # a group its alert lists cannot be judged now: unknown, not healthy
        if status.state is SloState.BREACH:
            return PAGE if slo.alerting.page else (TICKET if slo.alerting.ticket else None)
        if status.state is SloState.WARNING:
            return TICKET if slo.alerting.ticket else None
        return None

    def _estimated_condition(self, status: SloStatus, tickets: bool) -> str | None:
        """A status judged by an estimate (its slice has too few labels yet) may open a
        ticket, never a page, and never resolves an alert: only labels do. With an alert open
        it updates a ticket an estimate opened while the estimate stays bad, and holds
        otherwise."""
        bad = status.state is SloState.WARNING
        page = self._open(status.signal, status.slo, PAGE)
        ticket = self._open(status.signal, status.slo, TICKET)
        if ticket is not None and ticket.estimate is not None and ticket.estimate.outcome is None:
            return TICKET if bad else HOLD  # pending: its slice's labels settle it
        if page is not None or ticket is not None:
            # Opened (or confirmed) by labels: the labels of the recent slices say whether it
            # goes on (a bad one: held as it is) or clears (a good one: counts to the hold).
            newest = max(status.labelled, key=lambda x: x.start, default=None)
            if newest is None or newest.verdict is Verdict.BAD:
                return HOLD
            return None
        return TICKET if bad and tickets else None

    def _settle(self, status: SloStatus, at: datetime) -> list[Alert]:
        """An open ticket an estimate opened, once the labels of the slice it opened on judge
        it: confirmed when they say bad too (it goes on, now the labels'), withdrawn when
        they say good (resolved at once: the estimate was wrong). A slice that is no longer
        measured again (two timeslices after its start) without enough labels leaves it
        unconfirmed, resolved."""
        ticket = self._open(status.signal, status.slo, TICKET)
        check = ticket.estimate if ticket is not None else None
        if ticket is None or check is None or check.outcome is not None:
            return []
        labels = next((x for x in status.labelled if x.start == check.slice), None)
        timeslice = self.registry.get(status.signal).slo(status.slo).objective.timeslice
        if labels is not None:
            bad = labels.verdict is Verdict.BAD
            outcome = Outcome.CONFIRMED if bad else Outcome.WITHDRAWN
        elif timeslice is not None and status.at >= check.slice + 2 * timeslice:
            outcome = Outcome.UNCONFIRMED
        else:
            return []
        ticket = replace(ticket, estimate=replace(check, outcome=outcome, labels=labels))
        said = settled_line(ticket.estimate)
        self.records.add_event(ticket.id, at, outcome.value, said)
        if outcome is Outcome.CONFIRMED:
            return [self._save(replace(ticket, updated_at=at))]
        return [self._resolve(self._save(ticket), at, outcome.value)]

    def _listed_unknown(self, status: SloStatus) -> bool:
        """Whether an open alert of this grouped timeslice SLO lists a group that cannot be
        judged now (its slices wait for late labels), while no group alerts."""
        if status.state in (SloState.BREACH, SloState.WARNING):
            return False
        assert status.grouped is not None and status.grouped.unknown is not None
        unknown = {group_label(g) for g in status.grouped.unknown}
        for severity in (PAGE, TICKET):
            alert = self._open(status.signal, status.slo, severity)
            listed = (alert.groups or ()) if alert is not None else ()
            if any(group_label(g.group) in unknown for g in listed):
                return True
        return False

    def _stale(self, signal: str, rows: list[SloStatus], at: datetime) -> SloStatus | None:
        spec = self.registry.get(signal)
        occurrence = {s.name for s in spec.slos if s.objective.budgeting is Budgeting.OCCURRENCES}
        watched = [r for r in rows if r.slo in occurrence]
        if not watched or any(r.state is not SloState.NO_DATA for r in watched):
            return None
        open_stale = self._find(alert_key(signal, STALE, PAGE))
        if open_stale is not None and open_stale.open:
            return watched[0]
        if any(self.records.had_data(signal, r.slo, at) for r in watched):
            return watched[0]
        return None

    def _apply(
        self,
        signal: str,
        slo: str,
        condition: str | None,
        status: SloStatus | None,
        at: datetime,
    ) -> list[Alert]:
        if condition == HOLD:  # unknown: whatever is open stays as it is
            return []
        page = self._open(signal, slo, PAGE)
        ticket = self._open(signal, slo, TICKET)
        touched = []
        if condition == PAGE:
            if ticket is not None:
                touched.append(self._resolve(ticket, at, SUPERSEDED))
            touched.append(self._fire(page, signal, slo, PAGE, status, at))
            return touched
        if condition == TICKET and page is None and ticket is None and self._in_tail(signal, slo):
            return touched  # the slow windows still remember the page's incident
        if condition == TICKET and page is None:
            return [self._fire(ticket, signal, slo, TICKET, status, at)]
        # Clear (or only ticket-level under an open page): count towards the hold.
        for alert in (page, None if condition == TICKET else ticket):
            if alert is None:
                continue
            if alert.clear_since is None:
                touched.append(self._save(replace(alert, clear_since=at, updated_at=at)))
            elif at - alert.clear_since >= self.policy.hold:
                tail = condition == TICKET and alert.severity == PAGE
                touched.append(self._resolve(alert, at, None, tail=tail))
        if condition is None:
            self._end_tail(signal, slo)
        return touched

    def _in_tail(self, signal: str, slo: str) -> bool:
        last = self._find(alert_key(signal, slo, PAGE))
        return last is not None and not last.open and last.tail

    def _end_tail(self, signal: str, slo: str) -> None:
        last = self._find(alert_key(signal, slo, PAGE))
        if last is not None and not last.open and last.tail:
            self._save(replace(last, tail=False))

    def _open(self, signal: str, slo: str, severity: str) -> Alert | None:
        found = self._find(alert_key(signal, slo, severity))
        return found if found is not None and found.open else None

    def _fire(
        self,
        alert: Alert | None,
        signal: str,
        slo: str,
        severity: str,
        status: SloStatus,
        at: datetime,
    ) -> Alert:
        facts = _facts(status, slo)
        if facts["groups"] is not None and severity == PAGE:  # a ticket lists every group
            facts["groups"] = tuple(g for g in facts["groups"] if g.severity is PAGE)
        silenced = self._silenced(signal, slo, at)
        if alert is None:
            alert = Alert(
                id=None,
                key=alert_key(signal, slo, severity),
                signal=signal,
                slo=slo,
                severity=severity,
                state=FIRING,
                started_at=at,
                updated_at=at,
                channel=self.registry.get(signal).oncall,
                silenced=silenced,
                inhibited_by=self._inhibitor(signal, slo),
                estimate=_estimate_check(status),
                **facts,
            )
            alert = self._save(alert)
            self.records.add_event(alert.id, at, "opened", _summary(alert))
            return alert
        if not status.suspects:
            facts["suspects"] = alert.suspects  # the latest found stay
        if facts["groups"] is not None:
            facts["groups"] = self._held_groups(alert.groups or (), facts["groups"], at)
        alert = replace(alert, updated_at=at, clear_since=None, silenced=silenced, **facts)
        return self._save(alert)

    def _inhibitor(self, signal: str, slo: str) -> str | None:
        """The key of the open alert of a signal-level SLO of the same SLI kind, for a grouped
        SLO (None otherwise)."""
        spec = self.registry.get(signal)
        grouped = next((s for s in spec.slos if s.name == slo), None)
        if grouped is None or grouped.grouping is None:
            return None
        for other in spec.slos:
            if other.grouping is None and other.sli.kind == grouped.sli.kind:
                for severity in (PAGE, TICKET):
                    found = self._open(signal, other.name, severity)
                    if found is not None:
                        return found.key
        return None

    def _inhibited(self, alert: Alert, at: datetime) -> bool:
        """An alert opened inside a signal-level incident, which is open or ended less than
        ``INHIBIT_TAIL`` ago."""
        key = alert.inhibited_by
        if not key:
            return False
        source = self._find(key)
        if source is None:
            return False
        if source.open:
            return True
        return source.resolved_at is not None and at - source.resolved_at < INHIBIT_TAIL

    def _held_groups(
        self, before: tuple[ListedGroup, ...], now: tuple[ListedGroup, ...], at: datetime
    ) -> tuple[ListedGroup, ...]:
        """The groups an alert lists: those alerting now, and those that stopped less than
        ``policy.hold`` ago (marked ``clear_since``)."""
        current = {group_label(g.group) for g in now}
        listed = list(now)
        for g in before:
            if group_label(g.group) in current:
                continue
            since = g.clear_since or at
            if at - since < self.policy.hold:
                listed.append(replace(g, clear_since=since))
        return tuple(listed)

    def _resolve(
        self, alert: Alert, at: datetime, resolution: str | None, *, tail: bool = False
    ) -> Alert:
        alert = replace(
            alert,
            state=RESOLVED,
            resolved_at=at,
            updated_at=at,
            resolution=resolution,
            silenced=self._silenced(alert.signal, alert.slo, at),
            tail=tail,
        )
        self.records.add_event(alert.id, at, "resolved", resolution or "condition cleared")
        return self._save(alert)

    def _silenced(self, signal: str, slo: str, at: datetime) -> bool:
        silences = self._silences
        if silences is None:
            silences = self.records.silences()
            if self._remember_silences:
                self._silences = silences
        return any(s.active(at) and s.matches(signal, slo) for s in silences)

    # --- what to announce -----------------------------------------------------------------

    def announce(self, at: datetime | None = None) -> int:
        """Write to the outbox what Slack does not show yet; return how many items."""
        at = at or self.records.store.now()
        count = 0
        for alert in self.records.unannounced():
            silenced = self._silenced(alert.signal, alert.slo, at)
            if silenced != alert.silenced:
                alert = self._save(replace(alert, silenced=silenced))
            if silenced or self._inhibited(alert, at):
                continue
            count += self._announce(alert, at)
        return count

    def _announce(self, alert: Alert, at: datetime) -> int:
        shown = alert.notified
        groups = {group_label(g.group): g for g in alert.groups or ()}
        outcome = alert.estimate.outcome if alert.estimate is not None else None
        now_view = Notified(
            state=alert.state,
            severity=alert.severity,
            burn=alert.fastest_burn,
            groups=tuple(sorted(groups)) if alert.groups is not None else None,
            outcome=outcome,
        )
        signal = self.registry.get(alert.signal)
        text, blocks = render_alert(alert, signal, self.policy)
        if shown is None:
            if alert.state == RESOLVED:
                return 0  # opened and closed while nobody was told: nothing to take back
            self.records.enqueue(alert.id, OutboxKind.POST, alert.channel, text, blocks, at)
            self._save(replace(alert, notified=now_view, notified_at=at))
            return 1
        reply = None
        last_burn = shown.burn
        changed = _group_changes(shown.groups, groups) if alert.state != RESOLVED else ""
        if alert.state != shown.state:
            reply = _state_change(alert, at)
        elif outcome is not None and outcome != shown.outcome:
            assert alert.estimate is not None
            reply = settled_line(alert.estimate)  # the labels confirm the estimate's alert
        elif changed:
            reply = ""
        elif (
            alert.state != RESOLVED
            and last_burn > 0
            and alert.fastest_burn >= self.policy.worse * last_burn
        ):
            reply = f"worse: {shown.burn:.1f}x -> {alert.fastest_burn:.1f}x burn rate"
        elif (
            alert.severity == PAGE
            and alert.state == FIRING
            and alert.notified_at is not None
            and at - alert.notified_at >= self.policy.renotify
        ):
            mention = f"{self.policy.mention} " if self.policy.mention else ""
            reply = (
                f"{mention}still firing after {format_duration(_minutes(at - alert.started_at))}"
            )
        if reply is None:
            return 0
        self.records.enqueue(alert.id, OutboxKind.UPDATE, alert.channel, text, blocks, at)
        said, thread_blocks = reply, None
        if changed:
            # Group names come from the logs: plain text in the blocks (no ping, no format),
            # escaped in the notification's fallback text; what sigwatch wrote (a mention)
            # stays mrkdwn.
            said = "\n".join(filter(None, [reply, slack_escape(changed)]))
            thread_blocks = [
                *([_section("mrkdwn", reply)] if reply else []),
                _section("plain_text", changed),
            ]
        self.records.enqueue(alert.id, OutboxKind.REPLY, alert.channel, said, thread_blocks, at)
        self.records.add_event(alert.id, at, "notified", "\n".join(filter(None, [reply, changed])))
        self._save(replace(alert, notified=now_view, notified_at=at))
        return 2

    # --- from people ----------------------------------------------------------------------

    def acknowledge(self, key_or_id: str, by: str, at: datetime | None = None) -> Alert:
        at = at or self.records.store.now()
        alert = self.records.find(key_or_id)
        if alert is None:
            raise AlertError(f"no alert {key_or_id!r}; see `sigwatch alerts` for open keys")
        if alert.state != FIRING:
            raise AlertError(f"alert {alert.key} is {alert.state}; only a firing one can be acked")
        with self.records.store.transaction():
            alert = self._save(replace(alert, state=ACKNOWLEDGED, acknowledged_by=by))
            self.records.add_event(alert.id, at, "acknowledged", f"acknowledged by {by}")
            self.announce(at)
        return alert

    def silence(
        self,
        *,
        signal: str | None,
        slo: str | None,
        author: str,
        reason: str,
        duration: timedelta,
        at: datetime | None = None,
    ) -> Silence:
        at = at or self.records.store.now()
        if signal is None and slo is None:
            raise AlertError(
                "a silence needs --signal and/or --slo (silencing everything is not allowed)"
            )
        if signal is not None and signal not in self.registry.names:
            raise AlertError(
                f"unknown signal {signal!r}; allowed: {', '.join(self.registry.names)}"
            )
        if not reason.strip():
            raise AlertError("a silence needs a reason")
        if duration <= timedelta(0):
            raise AlertError("a silence needs a positive duration, e.g. 2h")
        silence = Silence(None, signal, slo, author, reason.strip(), at, at + duration)
        with self.records.store.transaction():
            silence = self.records.add_silence(silence)
            self.announce(at)
        return silence

    def unsilence(self, silence_id: int, at: datetime | None = None) -> None:
        at = at or self.records.store.now()
        with self.records.store.transaction():
            if not self.records.end_silence(silence_id, at):
                raise AlertError(f"no active silence {silence_id}; see `sigwatch silence list`")
            self.announce(at)


def _facts(status: SloStatus, slo: str) -> dict:
    """What an alert takes from the status it fires on."""
    fired = sorted(status.fired, key=lambda f: (f.severity is not Severity.PAGE, -f.factor))
    seen = Snapshot(
        sli=status.sli,
        state=status.state,
        objective=status.objective,
        at=status.at,
        target=status.target,
        budget_remaining=status.budget_remaining,
        ci_low=status.ci_low,
        ci_high=status.ci_high,
        samples=status.samples,
        fired=tuple(fired),
        verdict_from=status.verdict_from,
    )
    groups = None
    if status.grouped is not None:  # a grouped SLO: the groups alerting, worst first
        groups = tuple(
            ListedGroup(group=g.group, severity=g.severity, burn=g.burn, value=g.value)
            for g in status.grouped.alerting
        )
    return {
        "burn_rates": {k: v for k, v in status.burn_rates.items() if v is not None},
        "seen": seen,
        "slice": None if slo == STALE else status.slice,
        "suspects": status.suspects,
        "groups": groups,
        "last_value": status.value,
        "fired": fired[0].rule if fired else (None if slo == STALE else "slice"),
    }


def _estimate_check(status: SloStatus) -> EstimateCheck | None:
    """What an alert opened on an estimate keeps of it, for its slice's labels to settle."""
    by, estimated = status.verdict_from, status.estimated
    if by is None or not by.estimate or estimated is None or status.slice is None:
        return None
    return EstimateCheck(by, status.slice, estimated.value, estimated.lower, estimated.upper)


def _group_changes(shown: tuple[str, ...] | None, now: dict[str, ListedGroup]) -> str:
    """Thread lines for the groups that joined or recovered since the last announcement (a
    group still held after it stopped alerting has not recovered yet)."""
    if shown is None:
        return ""
    lines = []
    for name, group in now.items():
        if name not in shown and group.clear_since is None:
            burn = f" (burn {group.burn:.1f}x)" if group.burn else ""
            lines.append(f"+ {name}{burn}")
    lines += [f"- {name} recovered" for name in shown if name not in now]
    return "\n".join(lines)


def _section(kind: str, text: str) -> dict:
    body = {"type": kind, "text": text[:3000]}
    if kind == "plain_text":
        body["emoji"] = False
    return {"type": "section", "text": body}


def _summary(alert: Alert) -> str:
    return f"{alert.severity} opened at burn {alert.fastest_burn:.1f}x"


def _minutes(span: timedelta) -> timedelta:
    return timedelta(minutes=max(1, round(span.total_seconds() / 60)))


def _state_change(alert: Alert, at: datetime) -> str:
    if alert.state == ACKNOWLEDGED:
        return f"acknowledged by {slack_escape(alert.acknowledged_by or '?')}"
    if alert.state == RESOLVED:
        after = format_duration(_minutes(at - alert.started_at))
        if alert.estimate is not None and alert.estimate.outcome is not None:
            return f"resolved after {after}: {settled_line(alert.estimate)}"
        return (
            f"{alert.resolution} after {after}" if alert.resolution else f"resolved after {after}"
        )
    return f"firing again ({alert.state})"
