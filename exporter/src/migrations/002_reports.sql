-- Reports (报表): per-day facts derived from the event log, and the daily
-- rollups the query API reads. Every table is keyed by (tenant, day) so a
-- day's recomputation is one DELETE + INSERT per table in one transaction.

-- Master data and status changes are few; this index lets the rollup find an
-- agent's status carried into a day and the latest names without scanning
-- the busy partitions.
CREATE INDEX events_master_idx ON events (tenant, type, time)
  WHERE type IN ('agent.upsert', 'group.upsert', 'agent.status');

-- When each tenant-day was last rolled up; compared with event_days.last_received_at.
CREATE TABLE report_rollups (
  tenant      text        NOT NULL,
  day         date        NOT NULL,
  -- The rollup saw every event received before this instant.
  rolled_at   timestamptz NOT NULL,
  sessions    integer     NOT NULL,
  duration_ms integer     NOT NULL,
  PRIMARY KEY (tenant, day)
);

-- One row per leg, on the local day of its queue entry.
CREATE TABLE report_legs (
  tenant         text        NOT NULL,
  day            date        NOT NULL,
  session_id     text        NOT NULL,
  leg_no         integer     NOT NULL,
  group_id       text        NOT NULL,
  via            text        NOT NULL,
  hour           smallint    NOT NULL,
  queued_at      timestamptz NOT NULL,
  answered_at    timestamptz,
  ended_at       timestamptz,
  outcome        text        NOT NULL,
  wait_seconds   double precision,
  agent_id       text,
  ended_by       text,
  credited       boolean     NOT NULL,
  score          smallint,
  invited        boolean     NOT NULL
);
CREATE INDEX report_legs_day_idx ON report_legs (tenant, day, group_id);

-- One row per part (对话), on the local day of its answer.
CREATE TABLE report_parts (
  tenant                 text        NOT NULL,
  day                    date        NOT NULL,
  session_id             text        NOT NULL,
  part_no                integer     NOT NULL,
  agent_id               text        NOT NULL,
  group_id               text        NOT NULL,
  started_at             timestamptz NOT NULL,
  ended_at               timestamptz,
  ended_by               text,
  first_response_seconds double precision,
  reply_sum_seconds      double precision NOT NULL,
  reply_count            integer     NOT NULL,
  invited                boolean     NOT NULL,
  credited               boolean     NOT NULL,
  score                  smallint,
  no_revisit             boolean     NOT NULL
);
CREATE INDEX report_parts_day_idx ON report_parts (tenant, day, agent_id);

-- Per agent and day: the status side of 人工客服日统计 (intervals clipped to the day).
CREATE TABLE report_agent_time (
  tenant          text        NOT NULL,
  day             date        NOT NULL,
  agent_id        text        NOT NULL,
  first_online_at timestamptz,
  last_offline_at timestamptz,
  work_seconds    double precision NOT NULL,
  engaged_seconds double precision NOT NULL,
  status_seconds  jsonb       NOT NULL,
  PRIMARY KEY (tenant, day, agent_id)
);

-- 会话记录: one row per session that reached a human, on the day it started.
CREATE TABLE report_sessions (
  tenant            text        NOT NULL,
  day               date        NOT NULL,
  session_id        text        NOT NULL,
  state             text        NOT NULL,
  category          text,
  duration_seconds  double precision,
  score             smallint,
  remark            text,
  user_id           text,
  revisit_24h       boolean     NOT NULL,
  region            text,
  started_at        timestamptz NOT NULL,
  ended_at          timestamptz,
  first_answered_at timestamptz NOT NULL,
  agents            text[]      NOT NULL,
  groups            text[]      NOT NULL,
  PRIMARY KEY (tenant, day, session_id)
);
CREATE INDEX report_sessions_id_idx ON report_sessions (tenant, session_id);

CREATE TABLE report_group_daily (
  tenant            text    NOT NULL,
  day               date    NOT NULL,
  group_id          text    NOT NULL,
  inflow            integer NOT NULL,
  answered          integer NOT NULL,
  direct_inflow     integer NOT NULL,
  direct_answered   integer NOT NULL,
  transfer_out      integer NOT NULL,
  rated             integer NOT NULL,
  very_satisfied    integer NOT NULL,
  satisfied         integer NOT NULL,
  neutral           integer NOT NULL,
  dissatisfied      integer NOT NULL,
  very_dissatisfied integer NOT NULL,
  invited           integer NOT NULL,
  answered_20s      integer NOT NULL,
  PRIMARY KEY (tenant, day, group_id)
);

CREATE TABLE report_group_slot (
  tenant       text     NOT NULL,
  day          date     NOT NULL,
  hour         smallint NOT NULL,
  group_id     text     NOT NULL,
  inflow       integer  NOT NULL,
  answered     integer  NOT NULL,
  answered_20s integer  NOT NULL,
  PRIMARY KEY (tenant, day, hour, group_id)
);

CREATE TABLE report_agent_daily (
  tenant                 text             NOT NULL,
  day                    date             NOT NULL,
  agent_id               text             NOT NULL,
  first_online_at        timestamptz,
  last_offline_at        timestamptz,
  work_seconds           double precision NOT NULL,
  engaged_seconds        double precision NOT NULL,
  status_seconds         jsonb            NOT NULL,
  answered               integer          NOT NULL,
  transfer_out           integer          NOT NULL,
  parts_ended            integer          NOT NULL,
  talk_seconds           double precision NOT NULL,
  rated                  integer          NOT NULL,
  very_satisfied         integer          NOT NULL,
  satisfied              integer          NOT NULL,
  neutral                integer          NOT NULL,
  dissatisfied           integer          NOT NULL,
  very_dissatisfied      integer          NOT NULL,
  first_response_count   integer          NOT NULL,
  first_response_seconds double precision NOT NULL,
  responded_30s          integer          NOT NULL,
  no_revisit             integer          NOT NULL,
  invited                integer          NOT NULL,
  reply_count            integer          NOT NULL,
  reply_seconds          double precision NOT NULL,
  groups                 text[]           NOT NULL,
  PRIMARY KEY (tenant, day, agent_id)
);

CREATE TABLE report_category_daily (
  tenant          text    NOT NULL,
  day             date    NOT NULL,
  category        text    NOT NULL,
  leaf            text    NOT NULL,
  agent_id        text    NOT NULL,
  inbound_call    integer NOT NULL,
  manual_outbound integer NOT NULL,
  system_outbound integer NOT NULL,
  online          integer NOT NULL,
  PRIMARY KEY (tenant, day, category, agent_id)
);

CREATE TABLE report_overview (
  tenant         text    NOT NULL,
  day            date    NOT NULL,
  service_total  integer NOT NULL,
  PRIMARY KEY (tenant, day)
);
