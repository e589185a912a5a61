-- The day counters, one row per writer lane (ingest/writer.ts) instead of one per tenant-day.
-- Every ingest transaction updates its day's row and holds that row's lock until it commits, so
-- with a single row the writer's two transactions in flight committed one after the other: the
-- second's commit waited for the first's WAL flush, and single-event requests (webhooks) were
-- bounded by it (docs/robustness.md, "The day counters, one row per writer lane"). Readers take max(last_received_at) and
-- sum(events) over a day's lanes. Existing rows become lane 0.
ALTER TABLE event_days ADD COLUMN lane smallint NOT NULL DEFAULT 0;
ALTER TABLE event_days DROP CONSTRAINT event_days_pkey;
ALTER TABLE event_days ADD PRIMARY KEY (tenant, day, lane);
-- An exporter of an older build still running beside a new one fails its ingest from here on
-- (its statement's ON CONFLICT names the old key): upgrade every replica, not some.
