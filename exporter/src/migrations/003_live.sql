-- Start-up rebuild of the live state: the latest master data and status of
-- each agent, found without reading every day's partition in full.
CREATE INDEX events_agent_idx ON events (tenant, (body->>'agentId'), time DESC)
  WHERE type IN ('agent.upsert', 'agent.status');
-- The sessions touched in the last day, found by time.
CREATE INDEX events_time_idx ON events (time) WHERE session_id IS NOT NULL;
