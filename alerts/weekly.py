"""The weekly SLO review for leadership: one ISO week (Monday 00:00 to Monday 00:00 UTC), as
Markdown and a PNG/SVG chart set, posted to the digest channel on Mondays by ``serve`` (or by
``sigwatch report weekly --post``) and exported from the console's Trends page.

What it says, per SLO of every signal:

    compliance    the week's share of good events (occurrence SLOs, from the partial tables)
                  or of good judged slices (timeslice SLOs), against the objective
    budget burned the share of the window's error budget spent during the week: the budget left
                  at the week's first evaluation minus the one left at its last
    incidents     alerts opened in the week (a ticket superseded by a page, or a group's alert
                  recorded as part of a signal-level one, is not an incident of its own), with
                  time to detect and time to resolve
    cost          per signal, spend and cost per 1k items (its cost SLO's daily slices)

and the worst three SLOs, one line each: missed ones first, by how far compliance falls short,
then by budget burned.

Time to detect is measured from the start of the run of 5-minute evaluations, just before the
alert opened, whose budget burned faster than sustainable (5-minute burn rate above 1), to the
alert; for a bad timeslice, from the end of the slice to the alert (labels take time to come).
"""

from __future__ import annotations

import io
import statistics
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from monitors.audit import Audit, audit, slice_rows
from monitors.history import occurrence_counts
from sigwatch.model import Budgeting, Registry
from sigwatch.states import OutboxKind, OutboxStatus, Verdict
from sigwatch.units import short_span

WEEK = timedelta(days=7)
DAY = timedelta(days=1)
WIDTH = 900  # px of every chart; PNGs are drawn at SCALE
SCALE = 2
ROW = 18  # px per SLO or signal row


class WeekError(ValueError):
    """A --week that is not an ISO week."""


def parse_week(text: str) -> datetime:
    """``2026-W47`` -> that week's Monday 00:00 UTC."""
    year, _, week = text.strip().upper().partition("-W")
    try:
        monday = date.fromisocalendar(int(year), int(week), 1)
    except ValueError:
        raise WeekError(
            f"--week {text!r}: not an ISO week; allowed: YYYY-Www, e.g. 2026-W47"
        ) from None
    return datetime.combine(monday, datetime.min.time(), UTC)


def last_full_week(now: datetime) -> datetime:
    """The Monday 00:00 UTC of the last week that has ended by ``now``."""
    today = now.astimezone(UTC).date()
    this_monday = today - timedelta(days=today.weekday())
    return datetime.combine(this_monday - WEEK, datetime.min.time(), UTC)


def week_name(start: datetime) -> str:
    year, week, _ = start.date().isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class SloWeek:
    signal: str
    slo: str
    objective: float
    compliance: float | None  # None: nothing measured this week
    events: float  # events, or judged slices
    budget_start: float | None
    budget_end: float | None
    incidents: int = 0

    @property
    def met(self) -> bool | None:
        return None if self.compliance is None else self.compliance >= self.objective

    @property
    def burned(self) -> float | None:
        if self.budget_start is None or self.budget_end is None:
            return None
        return self.budget_start - self.budget_end

    @property
    def name(self) -> str:
        return f"{self.signal} / {self.slo}"

    def budget_move(self) -> str:
        """``100% -> 29% (71% burned)``; a budget can also grow back, as old bad events leave
        the window; a spent one says so."""
        if self.burned is None:
            return "-"
        how = (
            f"{self.burned:.0%} burned"
            if self.burned >= 0
            else f"{-self.burned:.0%} back as old bad events left the window"
        )
        spent = ", spent" if self.budget_end <= 0 else ""
        return f"{self.budget_start:.0%} -> {self.budget_end:.0%} ({how}{spent})"

    def line(self) -> str:
        """One line for the worst three."""
        if self.compliance is None:
            return f"**{self.name}**: no data this week"
        verdict = "met" if self.met else "missed"
        parts = [f"**{self.name}**: {self.compliance:.2%} vs {self.objective:.2%} ({verdict})"]
        if self.burned is not None:
            parts.append(f"error budget left {self.budget_move()}")
        if self.incidents:
            parts.append(f"{self.incidents} incident{'s' if self.incidents > 1 else ''}")
        return "; ".join(parts)


@dataclass(frozen=True)
class Incident:
    key: str
    signal: str
    slo: str
    started_at: datetime
    resolved_at: datetime | None
    detect: timedelta | None
    resolve: timedelta | None


@dataclass(frozen=True)
class Cost:
    signal: str
    spend: float
    cost_per_1k: float | None


@dataclass(frozen=True)
class EstimateWeek:
    """An estimated quality SLO's week: its estimates against the labels that landed
    (``monitors.audit`` over the week's slices)."""

    signal: str
    slo: str
    method: str
    audit: Audit


@dataclass(frozen=True)
class WeeklyReview:
    start: datetime
    slos: list[SloWeek]
    incidents: list[Incident]
    costs: list[Cost]
    signals: list[str] = field(default_factory=list)
    estimates: list[EstimateWeek] = field(default_factory=list)

    @property
    def name(self) -> str:
        return week_name(self.start)

    @property
    def end(self) -> datetime:
        return self.start + WEEK

    def worst(self, n: int = 3) -> list[SloWeek]:
        measured = [s for s in self.slos if s.compliance is not None]
        return sorted(
            measured,
            key=lambda s: (bool(s.met), s.compliance - s.objective, -(s.burned or 0.0)),
        )[:n]

    def headline(self) -> str:
        measured = [s for s in self.slos if s.met is not None]
        met = sum(1 for s in measured if s.met)
        spend = sum(c.spend for c in self.costs)
        detect = [i.detect for i in self.incidents if i.detect is not None]
        resolve = [i.resolve for i in self.incidents if i.resolve is not None]
        times = []
        if detect:
            times.append(f"median time to detect {short_span(statistics.median(detect))}")
        if resolve:
            times.append(f"to resolve {short_span(statistics.median(resolve))}")
        incidents = f"{len(self.incidents)} incident{'' if len(self.incidents) == 1 else 's'}"
        return (
            f"{met} of {len(measured)} SLOs met their objective; {incidents}"
            + (f" ({', '.join(times)})" if times else "")
            + f"; spend ${spend:,.2f}"
        )

    def title(self) -> str:
        last = self.end - DAY
        return f"sigwatch weekly SLO review {self.name} ({self.start:%b %d} to {last:%b %d}, UTC)"

    def markdown(self) -> str:
        lines = [f"# {self.title()}", "", f"**{self.headline()}.**", "", "## Worst three", ""]
        worst = self.worst()
        lines += [f"{k}. {s.line()}" for k, s in enumerate(worst, 1)] or ["No SLO measured."]
        lines += [
            "",
            "## Compliance per SLO",
            "",
            "| signal | SLO | compliance | objective | met | error budget left (week's "
            "start -> end) |",
            "| --- | --- | ---: | ---: | --- | --- |",
        ]
        for s in self.slos:
            compliance = "no data" if s.compliance is None else f"{s.compliance:.2%}"
            met = {True: "yes", False: "**no**", None: "-"}[s.met]
            lines.append(
                f"| {s.signal} | {s.slo} | {compliance} | {s.objective:.2%} | {met} | "
                f"{s.budget_move()} |"
            )
        lines += ["", f"## Incidents ({len(self.incidents)})", ""]
        if self.incidents:
            lines += [
                "| alert | opened (UTC) | time to detect | time to resolve |",
                "| --- | --- | ---: | ---: |",
            ]
            for i in self.incidents:
                resolve = "still open" if i.resolve is None else short_span(i.resolve)
                detect = "-" if i.detect is None else short_span(i.detect)
                lines.append(f"| {i.key} | {i.started_at:%a %H:%M} | {detect} | {resolve} |")
        else:
            lines.append("None.")
        if self.estimates:
            lines += [
                "",
                "## Estimates against the labels",
                "",
                "Each quality slice's estimate (made before its labels) against the labels' "
                "value once they landed: held when inside the band widened by the labels' own "
                "sampling error.",
                "",
                "| signal | SLO | method | slices with both | band held | mean abs. error |",
                "| --- | --- | --- | ---: | ---: | ---: |",
            ]
            for e in self.estimates:
                a = e.audit
                held = "-" if a.share is None else f"{a.held} ({a.share:.0%})"
                mae = "-" if a.mae is None else f"{a.mae:.3f}"
                flag = " **under 80%**" if a.warning else ""
                lines.append(
                    f"| {e.signal} | {e.slo} | {e.method} | {a.audited} | {held}{flag} | {mae} |"
                )
        lines += ["", "## Cost", "", "| signal | spend | cost per 1k |", "| --- | ---: | ---: |"]
        for c in self.costs:
            per_1k = "-" if c.cost_per_1k is None else f"${c.cost_per_1k:.4f}"
            lines.append(f"| {c.signal} | ${c.spend:,.2f} | {per_1k} |")
        return "\n".join(lines) + "\n"

    def slack_summary(self) -> str:
        """The message the chart set is posted with (Slack's mrkdwn)."""
        worst = "\n".join(
            f"{k}. {s.line().replace('**', '*')}" for k, s in enumerate(self.worst(), 1)
        )
        summary = f"*{self.title()}*\n{self.headline()}.\n*Worst three*\n{worst or 'none measured'}"
        untrusted = [f"{e.signal}/{e.slo}" for e in self.estimates if e.audit.warning]
        if untrusted:
            summary += (
                "\n*Estimates that missed the labels* (under 80% of bands held): "
                + ", ".join(untrusted)
            )
        return summary

    # --- the chart set ----------------------------------------------------------------

    def charts(self) -> list:
        """Compliance against objective, budget burned, spend: one Altair chart each."""
        import altair as alt
        import polars as pl

        rows = pl.DataFrame(
            [
                {
                    "slo": s.name,
                    "compliance": s.compliance,
                    "objective": s.objective,
                    "met": {True: "met", False: "missed", None: "no data"}[s.met],
                    "start": s.budget_start,
                    "end": s.budget_end,
                    "left": None
                    if s.budget_end is None
                    else "spent"
                    if s.budget_end <= 0
                    else "burning"
                    if (s.burned or 0) > 0
                    else "steady",
                }
                for s in self.slos
            ],
            schema={
                "slo": pl.Utf8,
                "compliance": pl.Float64,
                "objective": pl.Float64,
                "met": pl.Utf8,
                "start": pl.Float64,
                "end": pl.Float64,
                "left": pl.Utf8,
            },
        )
        order = [s.name for s in self.slos]
        y = alt.Y("slo:N", sort=order, title=None)
        height = max(1, len(order)) * ROW
        low = min([0.8, *[v for v in rows["compliance"].to_list() if v is not None]])
        x = alt.Scale(domain=[max(0.0, low - 0.02), 1.0])
        met = alt.Color(
            "met:N",
            scale=alt.Scale(
                domain=["met", "missed", "no data"], range=["#2e7d32", "#d0021b", "#9e9e9e"]
            ),
            title=None,
        )
        compliance = alt.layer(
            alt.Chart(rows)
            .mark_tick(color="#333", thickness=2, size=ROW - 4)
            .encode(x=alt.X("objective:Q", scale=x, axis=alt.Axis(format="%"), title=None), y=y),
            alt.Chart(rows)
            .mark_point(filled=True, size=70)
            .encode(
                x=alt.X("compliance:Q", scale=x, title="compliance (tick: objective)"),
                y=y,
                color=met,
            ),
        ).properties(width=WIDTH, height=height, title=f"Compliance against objective, {self.name}")
        # an overspent budget can be far below -100%: clamped there, said in the title
        budget = alt.Scale(domain=[-1.0, 1.0], clamp=True)
        states = alt.Scale(
            domain=["steady", "burning", "spent"], range=["#5b8db8", "#f5a623", "#7b1fa2"]
        )
        burned = alt.layer(
            alt.Chart(rows)
            .mark_bar()
            .encode(
                x=alt.X(
                    "end:Q",
                    scale=budget,
                    axis=alt.Axis(format="%"),
                    title="error budget left (below -100% drawn at -100%)",
                ),
                y=y,
                color=alt.Color("left:N", scale=states, title=None),
            ),
            alt.Chart(rows)
            .mark_tick(color="#333", thickness=2, size=ROW - 4)
            .encode(x=alt.X("start:Q", scale=budget), y=y),
        ).properties(
            width=WIDTH,
            height=height,
            title="Error budget left: bar at the week's end, tick at its start",
        )
        costs = pl.DataFrame(
            [{"signal": c.signal, "spend": c.spend} for c in self.costs],
            schema={"signal": pl.Utf8, "spend": pl.Float64},
        )
        spend = (
            alt.Chart(costs)
            .mark_bar(color="#5b8db8")
            .encode(
                x=alt.X("spend:Q", axis=alt.Axis(format="$,.2f", tickCount=6), title="spend, USD"),
                y=alt.Y("signal:N", title=None),
            )
            .properties(
                width=WIDTH,
                height=max(1, costs.height) * ROW * 1.5,
                title="Spend per signal this week",
            )
        )
        return [compliance, burned, spend]

    def png(self) -> bytes:
        """The chart set as one PNG: the charts, each fitted to ``WIDTH`` px (at ``SCALE``),
        stacked."""
        import vl_convert
        from PIL import Image

        images = []
        for chart in self.charts():
            spec = chart.configure(autosize={"type": "fit", "contains": "padding"}).to_json()
            images.append(Image.open(io.BytesIO(vl_convert.vegalite_to_png(spec, scale=SCALE))))
        width = max(i.width for i in images)
        sheet = Image.new("RGB", (width, sum(i.height for i in images)), "white")
        top = 0
        for image in images:
            sheet.paste(image, (0, top))
            top += image.height
        out = io.BytesIO()
        sheet.save(out, format="PNG", optimize=True)
        return out.getvalue()

    def svgs(self) -> list[str]:
        import vl_convert

        return [vl_convert.vegalite_to_svg(c.to_json()) for c in self.charts()]

    def write(self, folder: Path) -> list[Path]:
        """``sigwatch-weekly-<week>.md``, ``.png`` and one ``.svg`` per chart into ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        stem = folder / f"sigwatch-weekly-{self.name}"
        written = [stem.with_suffix(".md"), stem.with_suffix(".png")]
        written[0].write_text(self.markdown(), encoding="utf-8")
        written[1].write_bytes(self.png())
        for k, svg in enumerate(self.svgs(), 1):
            path = folder / f"sigwatch-weekly-{self.name}-{k}.svg"
            path.write_text(svg, encoding="utf-8")
            written.append(path)
        return written


def build_review(store, registry: Registry, data_dir: Path, start: datetime) -> WeeklyReview:
    """The review of the week that starts at ``start`` (a Monday 00:00 UTC)."""
    end = start + WEEK
    incidents = _incidents(store, registry, start, end)
    per_slo: dict[tuple[str, str], int] = {}
    for i in incidents:
        per_slo[(i.signal, i.slo)] = per_slo.get((i.signal, i.slo), 0) + 1
    slos, costs, estimates = [], [], []
    for signal in registry:
        occurrences = [s for s in signal.slos if s.objective.budgeting is Budgeting.OCCURRENCES]
        counts = occurrence_counts(data_dir, signal, occurrences, start, end, DAY)
        sums: dict[str, tuple[float, float]] = {}
        for slo, _, good, total in counts.iter_rows():
            g, t = sums.get(slo, (0.0, 0.0))
            sums[slo] = (g + good, t + total)
        for slo in signal.slos:
            if slo.objective.budgeting is Budgeting.OCCURRENCES:
                good, total = sums.get(slo.name, (0.0, 0.0))
            else:
                judged = [
                    v
                    for t, v in store.history.verdicts(signal.name, slo.name, end)
                    if t >= start and v.judged
                ]
                good, total = sum(1.0 for v in judged if v is Verdict.GOOD), float(len(judged))
            first, last = store.history.budget_span(signal.name, slo.name, start, end)
            slos.append(
                SloWeek(
                    signal.name,
                    slo.name,
                    slo.objective.ratio,
                    good / total if total else None,
                    total,
                    first,
                    last,
                    per_slo.get((signal.name, slo.name), 0),
                )
            )
        cost = _cost(store, signal, start, end)
        if cost is not None:
            costs.append(cost)
        for slo in signal.slos:
            wanted = getattr(slo.sli, "estimate", None)
            if wanted is not None and slo.grouping is None:
                week = [r for r in slice_rows(store, slo, end) if r.start >= start]
                estimates.append(EstimateWeek(signal.name, slo.name, wanted.method, audit(week)))
    return WeeklyReview(start, slos, incidents, costs, list(registry.names), estimates)


def _incidents(store, registry: Registry, start: datetime, end: datetime) -> list[Incident]:
    out = []
    for a in store.alerts.alerts(include_resolved=True, limit=5000):
        if not (start <= a.started_at < end and a.incident):
            continue
        resolve = a.resolved_at - a.started_at if a.resolved_at else None
        out.append(
            Incident(
                a.key,
                a.signal,
                a.slo,
                a.started_at,
                a.resolved_at,
                _time_to_detect(store, registry, a),
                resolve,
            )
        )
    return sorted(out, key=lambda i: i.started_at)


def _time_to_detect(store, registry: Registry, alert) -> timedelta | None:
    if alert.signal not in registry.names:
        return None
    slo = next((s for s in registry.get(alert.signal).slos if s.name == alert.slo), None)
    if slo is None:
        return None
    if alert.fired == "slice" and alert.slice is not None:
        sliced = alert.slice.astimezone(UTC)
        length = slo.objective.timeslice or DAY
        return max(timedelta(0), alert.started_at - (sliced + length))
    if slo.objective.budgeting is not Budgeting.OCCURRENCES:
        return None
    before = store.status_history(alert.signal, alert.slo, alert.started_at - DAY, alert.started_at)
    first = None
    for status in reversed(before):
        if (status.burn_rates.get("5m") or 0.0) > 1.0:
            first = status.at
        else:
            break
    if first is None:
        return None
    # the 5-minute window ending at ``first`` is the first one that burned too fast
    return alert.started_at - (first - timedelta(minutes=5))


def _cost(store, signal, start: datetime, end: datetime) -> Cost | None:
    """The spend over ``[start, end)`` from the daily slices of the signal's first SLO that
    measures spend (each slice carries its ``cost_usd`` and ``items``)."""
    for slo in signal.slos:
        if not slo.sli.spend:
            continue
        spend, items = 0.0, 0.0
        found = False
        for m in store.measurements(signal.name, slo.name, start, end):
            if m.end - m.start != DAY or m.value is None or m.cost is None:
                continue
            found = True
            spend += m.cost.cost_usd
            items += m.cost.items
        if found:
            return Cost(signal.name, spend, spend / items * 1000 if items else None)
    return None


@dataclass(frozen=True)
class Publication:
    files: list[Path]  # written into the data folder
    posted: list[str]  # Slack file ids; empty when not posted
    said: str  # what happened, for the log or the terminal


def publish(
    store,
    registry: Registry,
    settings,
    data_dir: Path,
    start: datetime,
    now: datetime,
    *,
    post: bool = True,
) -> Publication:
    """Write the week's review into ``<data>/reports/weekly`` and, with ``post`` and a Slack
    bot token, share the chart set and the Markdown in the digest channel. Each posting is
    recorded in the outbox (kind ``weekly``, sent), which is how a second scheduler knows the
    week was posted."""
    from alerts.delivery import notifier_from_settings
    from alerts.notifiers.slack import SlackNotifier

    review = build_review(store, registry, data_dir, start)
    files = review.write(data_dir / "reports" / "weekly")
    channel = settings.digest_channel
    if not post:
        return Publication(files, [], f"written to {files[0].parent}")
    notifier = notifier_from_settings(settings, store=store)
    if not isinstance(notifier, SlackNotifier):
        why = "a webhook cannot upload files" if notifier else "no SIGWATCH_SLACK_TOKEN"
        return Publication(files, [], f"not posted ({why}); written to {files[0].parent}")
    posted = notifier.upload(
        channel,
        [
            (files[1].name, files[1].read_bytes(), review.title()),
            (files[0].name, files[0].read_bytes(), f"{review.title()} (Markdown)"),
        ],
        review.slack_summary(),
    )
    records = store.alerts
    with store.transaction():
        item = records.enqueue(None, OutboxKind.WEEKLY, channel, review.slack_summary(), None, now)
        records.mark(item, OutboxStatus.SENT, now, sent_at=now)
    return Publication(files, posted, f"posted to {channel} ({len(posted)} files)")


def posted_this_week(store, channel: str, now: datetime) -> bool:
    """Whether a weekly review went to ``channel`` since this week's Monday 00:00 UTC."""
    last = store.alerts.last_enqueued(OutboxKind.WEEKLY, channel)
    return last is not None and last >= last_full_week(now) + WEEK
