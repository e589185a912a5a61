-- Master data: each agent's and group's latest upsert (by event time, then
-- arrival), kept current by ingest in the same statement that stores the
-- events. Reports join these small tables instead of searching every day's
-- partition for the latest agent.upsert / group.upsert.
CREATE TABLE master_agents (
  tenant    text        NOT NULL,
  agent_id  text        NOT NULL,
  name      text,
  work_no   text,
  member_of jsonb       NOT NULL DEFAULT '[]',
  time      timestamptz NOT NULL,
  seq       bigint      NOT NULL,
  PRIMARY KEY (tenant, agent_id)
);

CREATE TABLE master_groups (
  tenant   text        NOT NULL,
  group_id text        NOT NULL,
  name     text,
  time     timestamptz NOT NULL,
  seq      bigint      NOT NULL,
  PRIMARY KEY (tenant, group_id)
);

INSERT INTO master_agents (tenant, agent_id, name, work_no, member_of, time, seq)
SELECT DISTINCT ON (tenant, body->>'agentId') tenant, body->>'agentId', body->>'name', body->>'workNo',
       coalesce(body->'groups', '[]'::jsonb), time, seq
FROM events WHERE type = 'agent.upsert'
ORDER BY tenant, body->>'agentId', time DESC, seq DESC;

INSERT INTO master_groups (tenant, group_id, name, time, seq)
SELECT DISTINCT ON (tenant, body->>'groupId') tenant, body->>'groupId', body->>'name', time, seq
FROM events WHERE type = 'group.upsert'
ORDER BY tenant, body->>'groupId', time DESC, seq DESC;
