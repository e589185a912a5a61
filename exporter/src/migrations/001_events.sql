-- The raw event log: every accepted event, partitioned by the tenant-local day
-- of its time, so retention is a DROP and a day's rollup reads one partition.
CREATE TABLE events (
  seq         bigserial,                -- arrival order, the tiebreak for equal times
  tenant      text        NOT NULL,
  id          text        NOT NULL,
  type        text        NOT NULL,
  time        timestamptz NOT NULL,
  day         date        NOT NULL,
  session_id  text,
  received_at timestamptz NOT NULL DEFAULT now(),
  body        jsonb       NOT NULL
) PARTITION BY RANGE (day);

-- Session detail and late-event lookups go by session.
CREATE INDEX events_session_idx ON events (tenant, session_id) WHERE session_id IS NOT NULL;

-- Dedupe by id per tenant. A partitioned table's unique keys must contain the
-- partition key, which would let the same id on two days through; this table
-- holds the key alone.
CREATE TABLE event_ids (
  tenant text NOT NULL,
  id     text NOT NULL,
  day    date NOT NULL,
  PRIMARY KEY (tenant, id)
);

-- Which days received events and when last: the rollup scheduler recomputes a
-- finished day when events arrived after its last rollup.
CREATE TABLE event_days (
  tenant           text        NOT NULL,
  day              date        NOT NULL,
  events           bigint      NOT NULL,
  last_received_at timestamptz NOT NULL,
  PRIMARY KEY (tenant, day)
);
