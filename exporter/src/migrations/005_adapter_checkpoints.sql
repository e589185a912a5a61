-- Where each platform adapter has got to in its input: the Asterisk queue_log follower's file
-- identity, offset and last line hash; another adapter's cursor or stream position. Written only
-- after ingest acknowledged everything before the position, so a restart resumes there.
CREATE TABLE adapter_checkpoints (
  adapter    text        NOT NULL,
  tenant     text        NOT NULL,
  source     text        NOT NULL,
  position   jsonb       NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (adapter, tenant, source)
);
