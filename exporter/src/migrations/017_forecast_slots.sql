-- 排班建议 (staffing forecast) and 流入异常: inflow and handling time per skill group and
-- 30-minute slot of the local day. report_group_slot is per hour; the forecast is per half hour,
-- and reading it from report_legs would scan every leg of eight weeks on each query.
-- Rows are keyed by (tenant, day) like the other report tables: a day's rollup replaces them.
CREATE TABLE report_group_halfhour (
  tenant       text             NOT NULL,
  day          date             NOT NULL,
  -- 0 = 00:00–00:30 local, … 47 = 23:30–24:00.
  slot         smallint         NOT NULL,
  group_id     text             NOT NULL,
  -- Legs entered into the group in the slot (as report_group_slot's inflow).
  inflow       integer          NOT NULL,
  -- Parts of the group answered in the slot that have ended, and their total duration:
  -- the average handling time the Erlang C model of the forecast needs.
  parts_ended  integer          NOT NULL,
  part_seconds double precision NOT NULL,
  PRIMARY KEY (tenant, day, slot, group_id)
);

-- Days rolled up before this table existed: their legs are still there, so their inflow is filled in
-- here. The slot needs the leg's local minute, and the exporter's zone is not known to SQL: the local
-- hour (report_legs.hour) with the UTC minute is exact in every zone with whole-hour offsets
-- (Asia/Shanghai). Parts record no local hour, so their handling time stays empty until the day is
-- rolled up again (cs-exporter rollup --from … --to …), which also redoes the slots in the exact zone.
INSERT INTO report_group_halfhour
SELECT tenant, day, (hour * 2 + extract(minute FROM queued_at)::int / 30)::smallint, group_id, count(*), 0, 0
FROM report_legs GROUP BY tenant, day, 3, group_id;
