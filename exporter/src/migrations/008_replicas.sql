-- Replicas that agree (docs/scale-out-replicas.md): every exporter's live state
-- follows the committed log, whoever wrote it.
--
-- The inserting transaction's id, so a reader can tell which rows became
-- visible since its last read: a row is new to a reader exactly when its xid
-- was not visible in the reader's previous snapshot (xid >= that snapshot's
-- xmax, or among its in-progress xids). pg_current_xact_id() is the top-level
-- transaction's 64-bit id (no wraparound to care about).
-- Added without a default first, then the default set: existing rows keep NULL
-- (no table rewrite of old partitions; they are before every replica's start-up
-- snapshot, so no follower needs them), new rows get their transaction's id.
-- On a partitioned table both statements recurse to every partition, and the
-- partitions created later take the parent's default.
ALTER TABLE events ADD COLUMN xid xid8;
ALTER TABLE events ALTER COLUMN xid SET DEFAULT pg_current_xact_id();
CREATE INDEX events_xid_idx ON events (xid);

-- The wake-up (a NOTIFY at commit of each batch that stored events) is sent by ingest's own
-- statement (ingest/store.ts), not by a trigger here: on Citus a trigger on events would run
-- on the workers, where no replica listens.
