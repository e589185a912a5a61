-- 排班建议 (staffing forecast) and 流入异常: inflow and handling time per skill group and
-- 30-minute slot of the local day. report_group_slot is per hour; the forecast is per half hour,
-- and reading it from report_legs would scan every leg of ten weeks on each query. One row per
-- group and day holding the day's 48 slots as arrays (index 1 = 00:00–00:30 … 48 = 23:30–24:00):
-- the forecast of 200 groups reads 14,000 rows rather than 680,000.
-- Rows are keyed by (tenant, day) like the other report tables: a day's rollup replaces them.
CREATE TABLE report_group_halfhour (
  tenant       text               NOT NULL,
  day          date               NOT NULL,
  group_id     text               NOT NULL,
  -- Legs entered into the group in each slot (as report_group_slot's inflow).
  inflow       integer[]          NOT NULL,
  -- Parts of the group answered in each slot that have ended, and their total duration: the
  -- average handling time the Erlang C model of the forecast needs.
  parts_ended  integer[]          NOT NULL,
  part_seconds double precision[] NOT NULL,
  PRIMARY KEY (tenant, day, group_id)
);

-- Days rolled up before this table existed: their legs are still there, so their inflow is filled in
-- here. The slot needs the leg's local minute, and the exporter's zone is not known to SQL: the local
-- hour (report_legs.hour) with the UTC minute is exact in every zone with whole-hour offsets
-- (Asia/Shanghai). Parts record no local hour, so their handling time stays empty until the day is
-- rolled up again (cs-exporter rollup --from … --to …), which also redoes the slots in the exact zone.
WITH x AS (
  SELECT tenant, day, group_id, hour * 2 + extract(minute FROM queued_at)::int / 30 AS slot, count(*)::int AS inflow
  FROM report_legs GROUP BY 1, 2, 3, 4
)
INSERT INTO report_group_halfhour
SELECT k.tenant, k.day, k.group_id, array_agg(coalesce(x.inflow, 0) ORDER BY s),
       array_fill(0, ARRAY[48]), array_fill(0::double precision, ARRAY[48])
FROM (SELECT DISTINCT tenant, day, group_id FROM x) k
CROSS JOIN generate_series(0, 47) s
LEFT JOIN x ON x.tenant = k.tenant AND x.day = k.day AND x.group_id = k.group_id AND x.slot = s
GROUP BY k.tenant, k.day, k.group_id;
