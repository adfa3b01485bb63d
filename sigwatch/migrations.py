"""The store's schema as an ordered list of migrations; later features append, never edit.

Each migration is a version number and a tuple of SQL statements kept to what both SQLite and
PostgreSQL accept (plain types, no SQLite-only syntax); the one translation is SQLite's
``INTEGER PRIMARY KEY`` (its rowid), an identity column in PostgreSQL
(``sigwatch.store.connection.Dialect.ddl``). ``sqlite_only`` statements fix up rows that only a
SQLite store can hold: PostgreSQL stores begin at version 12, so every PostgreSQL store ran the
whole list on empty tables. A trigger is written in each database's own language
(``sqlite_only``, ``postgres_only``).
Times are integer seconds since the epoch, UTC; windows are half-open ``[start, end)``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]
    sqlite_only: tuple[str, ...] = ()
    postgres_only: tuple[str, ...] = ()


KEPT_BY_TRIGGERS = 16  # from this version the database keeps slo_latest and run_totals

# The statements of migration 16's triggers (``NEW``: the row written), in both databases.
LATEST = (
    "INSERT INTO slo_latest (signal, slo, at, evaluated_at)"
    " VALUES (NEW.signal, NEW.slo, NEW.at, NEW.evaluated_at)"
    " ON CONFLICT (signal, slo) DO UPDATE SET"
    " at = CASE WHEN excluded.at > slo_latest.at THEN excluded.at ELSE slo_latest.at END,"
    " evaluated_at = CASE WHEN excluded.evaluated_at > slo_latest.evaluated_at"
    " THEN excluded.evaluated_at ELSE slo_latest.evaluated_at END;"
)
TOTALS = (
    "INSERT INTO run_totals (signal, outcome, total, last_started)"
    " VALUES (NEW.signal, NEW.status, 1, NEW.started)"
    " ON CONFLICT (signal, outcome) DO UPDATE SET total = run_totals.total + 1,"
    " last_started = CASE WHEN excluded.last_started > run_totals.last_started"
    " THEN excluded.last_started ELSE run_totals.last_started END;"
)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "measurements",
        (
            # One row per (signal, SLO, window): re-measuring a window replaces its row.
            """
            CREATE TABLE measurements (
                signal       TEXT    NOT NULL,
                slo          TEXT    NOT NULL,
                window_start BIGINT  NOT NULL,
                window_end   BIGINT  NOT NULL,
                sli          TEXT    NOT NULL,
                good         DOUBLE PRECISION,
                total        DOUBLE PRECISION,
                value        DOUBLE PRECISION,
                ci_low       DOUBLE PRECISION,
                ci_high      DOUBLE PRECISION,
                samples      BIGINT,
                details      TEXT,
                evaluated_at BIGINT  NOT NULL,
                PRIMARY KEY (signal, slo, window_start, window_end),
                CHECK (window_end > window_start)
            )
            """,
            "CREATE INDEX measurements_by_end ON measurements (signal, slo, window_end)",
        ),
    ),
    Migration(
        2,
        "monitor partials, SLO status history, runs",
        (
            # Mergeable aggregates of one signal's logs over one bucket (5 min) or slice: any
            # longer window is a sum of these, so nothing rescans raw logs.
            """
            CREATE TABLE partials (
                signal       TEXT    NOT NULL,
                part         TEXT    NOT NULL,
                bucket_start BIGINT  NOT NULL,
                bucket_end   BIGINT  NOT NULL,
                payload      TEXT    NOT NULL,
                computed_at  BIGINT  NOT NULL,
                PRIMARY KEY (signal, part, bucket_start)
            )
            """,
            # One row per SLO per evaluation time: the state history the console and alerts read.
            """
            CREATE TABLE slo_status (
                signal           TEXT    NOT NULL,
                slo              TEXT    NOT NULL,
                at               BIGINT  NOT NULL,
                sli              TEXT    NOT NULL,
                state            TEXT    NOT NULL,
                value            DOUBLE PRECISION,
                target           TEXT,
                objective        DOUBLE PRECISION NOT NULL,
                ci_low           DOUBLE PRECISION,
                ci_high          DOUBLE PRECISION,
                samples          BIGINT,
                budget_remaining DOUBLE PRECISION,
                burn_rates       TEXT    NOT NULL,
                fired            TEXT    NOT NULL,
                window_end       BIGINT  NOT NULL,
                evaluated_at     BIGINT  NOT NULL,
                details          TEXT,
                PRIMARY KEY (signal, slo, at)
            )
            """,
            "CREATE INDEX slo_status_latest ON slo_status (signal, slo, at)",
            """
            CREATE TABLE runs (
                signal      TEXT    NOT NULL,
                at          BIGINT  NOT NULL,
                started     BIGINT  NOT NULL,
                duration_ms DOUBLE PRECISION NOT NULL,
                status      TEXT    NOT NULL,
                error       TEXT,
                PRIMARY KEY (signal, at, started)
            )
            """,
        ),
    ),
    Migration(
        3,
        "alerts, silences, outbox",
        (
            # One row per alert (signal, SLO, severity, opening time); at most one open per key.
            """
            CREATE TABLE alerts (
                id              INTEGER PRIMARY KEY,
                alert_key       TEXT    NOT NULL,
                signal          TEXT    NOT NULL,
                slo             TEXT    NOT NULL,
                severity        TEXT    NOT NULL,
                state           TEXT    NOT NULL,
                started_at      BIGINT  NOT NULL,
                updated_at      BIGINT  NOT NULL,
                resolved_at     BIGINT,
                clear_since     BIGINT,
                acknowledged_by TEXT,
                resolution      TEXT,
                last_value      DOUBLE PRECISION,
                burn_rates      TEXT    NOT NULL,
                fired           TEXT,
                details         TEXT    NOT NULL,
                channel         TEXT    NOT NULL,
                silenced        INTEGER NOT NULL,
                notified        TEXT,
                notified_at     BIGINT,
                slack_ts        TEXT,
                slack_channel   TEXT
            )
            """,
            "CREATE INDEX alerts_by_key ON alerts (alert_key, state)",
            # What happened to an alert, in order (the Slack thread, and the console's history).
            """
            CREATE TABLE alert_events (
                alert_id INTEGER NOT NULL,
                at       BIGINT  NOT NULL,
                kind     TEXT    NOT NULL,
                text     TEXT    NOT NULL
            )
            """,
            """
            CREATE TABLE silences (
                id         INTEGER PRIMARY KEY,
                signal     TEXT,
                slo        TEXT,
                author     TEXT    NOT NULL,
                reason     TEXT    NOT NULL,
                created_at BIGINT  NOT NULL,
                expires_at BIGINT  NOT NULL,
                ended_at   BIGINT
            )
            """,
            # Every notification is written here before it is sent; ``id`` is its idempotency key.
            """
            CREATE TABLE outbox (
                id         INTEGER PRIMARY KEY,
                alert_id   INTEGER,
                kind       TEXT    NOT NULL,
                channel    TEXT    NOT NULL,
                text       TEXT    NOT NULL,
                blocks     TEXT,
                status     TEXT    NOT NULL,
                created_at BIGINT  NOT NULL,
                attempts   INTEGER NOT NULL,
                sending_at BIGINT,
                sent_at    BIGINT,
                slack_ts   TEXT,
                last_error TEXT
            )
            """,
            "CREATE INDEX outbox_by_status ON outbox (status, id)",
        ),
    ),
    Migration(
        4,
        "judge labels and calibrations",
        (
            # One row per judge call: a label, or the judge_error that replaced it.
            """
            CREATE TABLE judge_labels (
                signal         TEXT    NOT NULL,
                item_id        TEXT    NOT NULL,
                purpose        TEXT    NOT NULL,
                label          TEXT,
                error          TEXT,
                rationale      TEXT,
                confidence     DOUBLE PRECISION,
                model          TEXT    NOT NULL,
                prompt_version TEXT    NOT NULL,
                tokens_in      BIGINT,
                tokens_out     BIGINT,
                latency_ms     DOUBLE PRECISION,
                cost_usd       DOUBLE PRECISION,
                labeled_at     BIGINT  NOT NULL,
                PRIMARY KEY (signal, item_id, purpose, model, prompt_version)
            )
            """,
            """
            CREATE TABLE judge_calibrations (
                signal         TEXT    NOT NULL,
                model          TEXT    NOT NULL,
                prompt_version TEXT    NOT NULL,
                at             BIGINT  NOT NULL,
                n              BIGINT  NOT NULL,
                errors         BIGINT  NOT NULL,
                kappa          DOUBLE PRECISION,
                per_class      TEXT    NOT NULL,
                cost_usd       DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (signal, model, prompt_version, at)
            )
            """,
        ),
    ),
    Migration(
        5,
        "judge labels of served predictions: when, what was predicted, sampling weight",
        (
            # For purpose 'monitoring' rows (the daily sample): the prediction's event time,
            # the served label, the stratum it was drawn from and its weight (stratum rows /
            # rows drawn), so the judge-based SLIs are estimates over all served traffic.
            "ALTER TABLE judge_labels ADD COLUMN event_time BIGINT",
            "ALTER TABLE judge_labels ADD COLUMN predicted TEXT",
            "ALTER TABLE judge_labels ADD COLUMN stratum TEXT",
            "ALTER TABLE judge_labels ADD COLUMN weight DOUBLE PRECISION",
            "CREATE INDEX judge_labels_by_time ON judge_labels (signal, purpose, event_time)",
        ),
    ),
    Migration(
        6,
        "serving partials move to Parquet tables under <data>/partials/serving/",
        (
            # They are recomputed from the logs on the next run (monitors.partials); the JSON
            # rows of each 5-minute bucket are only dead weight now. Quality partials stay.
            "DELETE FROM partials WHERE part = 'serving'",
        ),
    ),
    Migration(
        7,
        "quality partials move to Parquet tables under <data>/partials/quality/; the partials "
        "table goes",
        (
            # The quality tables are computed from the logs and labels on the next run, for
            # every bucket of the SLO windows (monitors.engine); nothing reads these rows now.
            "DROP TABLE partials",
        ),
    ),
    Migration(
        8,
        "grouped SLOs: a status and measurements per group",
        (
            # One row per group of a grouped SLO per evaluation time (``grp``: the group as
            # JSON, e.g. {"community":"headphones"}); the SLO's own row stays in slo_status.
            """
            CREATE TABLE group_status (
                signal           TEXT    NOT NULL,
                slo              TEXT    NOT NULL,
                grp              TEXT    NOT NULL,
                at               BIGINT  NOT NULL,
                sli              TEXT    NOT NULL,
                state            TEXT    NOT NULL,
                value            DOUBLE PRECISION,
                target           TEXT,
                objective        DOUBLE PRECISION NOT NULL,
                ci_low           DOUBLE PRECISION,
                ci_high          DOUBLE PRECISION,
                samples          BIGINT,
                budget_remaining DOUBLE PRECISION,
                burn_rates       TEXT    NOT NULL,
                fired            TEXT    NOT NULL,
                window_end       BIGINT  NOT NULL,
                evaluated_at     BIGINT  NOT NULL,
                details          TEXT,
                PRIMARY KEY (signal, slo, at, grp)
            )
            """,
            # A grouped timeslice SLO's slices, per group: re-measuring replaces the row.
            """
            CREATE TABLE group_measurements (
                signal       TEXT    NOT NULL,
                slo          TEXT    NOT NULL,
                grp          TEXT    NOT NULL,
                window_start BIGINT  NOT NULL,
                window_end   BIGINT  NOT NULL,
                sli          TEXT    NOT NULL,
                good         DOUBLE PRECISION,
                total        DOUBLE PRECISION,
                value        DOUBLE PRECISION,
                ci_low       DOUBLE PRECISION,
                ci_high      DOUBLE PRECISION,
                samples      BIGINT,
                details      TEXT,
                evaluated_at BIGINT  NOT NULL,
                PRIMARY KEY (signal, slo, grp, window_start, window_end),
                CHECK (window_end > window_start)
            )
            """,
        ),
    ),
    Migration(
        9,
        "judge labels of served predictions keep the prediction's dimension columns",
        (
            # So a judge-labelled SLO can be grouped (group_by: [language]): each daily sample
            # row keeps where its prediction was served. Rows labelled before stay null.
            "ALTER TABLE judge_labels ADD COLUMN community TEXT",
            "ALTER TABLE judge_labels ADD COLUMN language TEXT",
            "ALTER TABLE judge_labels ADD COLUMN item_kind TEXT",
            "ALTER TABLE judge_labels ADD COLUMN model_version TEXT",
            "ALTER TABLE judge_labels ADD COLUMN served_by TEXT",
        ),
    ),
    Migration(
        10,
        "Slack channel ids by name",
        (
            # The definitions name channels (#acu-oncall); Slack's history and edits want ids.
            # An id learnt from a post, or looked up once (conversations.list), is kept here.
            """
            CREATE TABLE slack_channels (
                name        TEXT    PRIMARY KEY,
                id          TEXT    NOT NULL,
                resolved_at BIGINT  NOT NULL
            )
            """,
        ),
    ),
    Migration(
        11,
        "alerts: what was last announced of an alert's state, as a column",
        (
            # Read by the query of alerts whose announcement is behind their state, which
            # filtered the JSON text of `notified` before. Only "resolved" matters to it; the
            # open state is rewritten exactly at an alert's next save.
            "ALTER TABLE alerts ADD COLUMN notified_state TEXT",
            "UPDATE alerts SET notified_state = 'resolved'"
            ' WHERE notified LIKE \'%"state": "resolved"%\'',
            "UPDATE alerts SET notified_state = 'firing'"
            " WHERE notified IS NOT NULL AND notified_state IS NULL",
        ),
    ),
    Migration(
        12,
        "alert events: their order as a column (PostgreSQL has no rowid)",
        (
            # Each event's place among its alert's (the Slack thread's order). Written as one
            # more than the alert's latest; events of one alert are added under its signal's
            # evaluation, one writer at a time.
            "ALTER TABLE alert_events ADD COLUMN seq BIGINT",
            "CREATE INDEX alert_events_by_alert ON alert_events (alert_id, seq)",
        ),
        sqlite_only=("UPDATE alert_events SET seq = rowid",),
    ),
    Migration(
        13,
        "status compaction: how far each status table is compacted",
        (
            # Statuses older than SIGWATCH_STATUS_DETAIL keep one evaluation an hour and every
            # change of state or fired rule (store.retention.compact); ``through``: the rows
            # before it are done, so each daily run compacts only what aged since.
            """
            CREATE TABLE compactions (
                tbl     TEXT    PRIMARY KEY,
                through BIGINT  NOT NULL
            )
            """,
        ),
    ),
    Migration(
        14,
        "the latest status of each SLO, kept as statuses are written",
        (
            # What the console's pages and `status` read first (the latest status of every SLO,
            # the data's end, the last evaluation): a row per SLO, instead of a scan of the
            # history for the latest of each. ``at``: the SLO's latest status; ``evaluated_at``:
            # its latest evaluation of any time (a backfill evaluates old times late).
            """
            CREATE TABLE slo_latest (
                signal       TEXT    NOT NULL,
                slo          TEXT    NOT NULL,
                at           BIGINT  NOT NULL,
                evaluated_at BIGINT  NOT NULL,
                PRIMARY KEY (signal, slo)
            )
            """,
            "INSERT INTO slo_latest (signal, slo, at, evaluated_at)"
            " SELECT signal, slo, MAX(at), MAX(evaluated_at) FROM slo_status GROUP BY signal, slo",
        ),
    ),
    Migration(
        15,
        "the monitor runs counted per signal and outcome, never pruned",
        (
            # /metrics' sigwatch_monitor_runs_total is a counter: it may not go down when the
            # runs table is pruned, so the totals are kept apart; ``last_started``: the latest
            # run of that outcome (a last good run that is old is the dead-man's switch).
            """
            CREATE TABLE run_totals (
                signal       TEXT    NOT NULL,
                outcome      TEXT    NOT NULL,
                total        BIGINT  NOT NULL,
                last_started BIGINT  NOT NULL,
                PRIMARY KEY (signal, outcome)
            )
            """,
            "INSERT INTO run_totals (signal, outcome, total, last_started)"
            " SELECT signal, status, COUNT(*), MAX(started) FROM runs GROUP BY signal, status",
        ),
    ),
    Migration(
        KEPT_BY_TRIGGERS,
        "the latest status and the run totals kept by the database",
        (),
        # A status written (inserted, or evaluated again) moves its SLO's latest row; a run
        # recorded (or its outcome changed) counts once more: the store's writes no longer
        # send these statements themselves (a quiet cycle visits the store rarely).
        sqlite_only=(
            f"CREATE TRIGGER slo_latest_on_insert AFTER INSERT ON slo_status BEGIN {LATEST} END",
            f"CREATE TRIGGER slo_latest_on_update AFTER UPDATE ON slo_status BEGIN {LATEST} END",
            f"CREATE TRIGGER run_totals_on_insert AFTER INSERT ON runs BEGIN {TOTALS} END",
            "CREATE TRIGGER run_totals_on_update AFTER UPDATE OF status ON runs"
            f" WHEN NEW.status IS NOT OLD.status BEGIN {TOTALS} END",
        ),
        postgres_only=(
            "CREATE FUNCTION sigwatch_keep_latest() RETURNS trigger LANGUAGE plpgsql AS"
            f" $$ BEGIN {LATEST} RETURN NULL; END $$",
            "CREATE TRIGGER slo_latest_kept AFTER INSERT OR UPDATE ON slo_status"
            " FOR EACH ROW EXECUTE FUNCTION sigwatch_keep_latest()",
            "CREATE FUNCTION sigwatch_count_run() RETURNS trigger LANGUAGE plpgsql AS"
            f" $$ BEGIN {TOTALS} RETURN NULL; END $$",
            "CREATE TRIGGER run_totals_on_insert AFTER INSERT ON runs"
            " FOR EACH ROW EXECUTE FUNCTION sigwatch_count_run()",
            "CREATE TRIGGER run_totals_on_update AFTER UPDATE OF status ON runs"
            " FOR EACH ROW WHEN (NEW.status IS DISTINCT FROM OLD.status)"
            " EXECUTE FUNCTION sigwatch_count_run()",
        ),
    ),
)
