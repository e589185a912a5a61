/**
 * The metric catalog: every report and metric of metrics.md with its id,
 * Chinese name, definition and Grafana unit. It is the one place a metric is
 * defined: the query API answers from it, and the datasource plugin and the
 * dashboards import it. Pure data, no imports, so a browser bundle can take it.
 */

/** A field's value type in the data frames (api.md). */
export type FieldType = 'string' | 'number' | 'time' | 'boolean';

/** One metric: what a user sees (`name`), what it means, how Grafana formats it. */
export interface MetricDef {
  id: string;
  name: string;
  definition: string;
  /** Grafana unit id: none, percentunit, s, h, dateTimeAsIso, string. */
  unit: string;
  type: FieldType;
}

/** A dimension column of a report (api.md: date, hour, group_id, ...). */
export interface DimensionDef {
  id: string;
  name: string;
  type: FieldType;
}

/** How a report's rows are laid out in time. */
export type Grain = 'day' | 'hour' | 'range' | 'live' | 'list';

export interface ReportDef {
  id: string;
  name: string;
  /** Where it sits in the product: 报表 (reports) or 监控 (monitoring). */
  section: '报表' | '监控';
  description: string;
  grain: Grain;
  dimensions: DimensionDef[];
  metrics: MetricDef[];
  /** Filters the report honours. */
  filters: ('groups' | 'agents')[];
  /** Report-specific filters, passed in the query body's `filters` (and as export query parameters). */
  extraFilters?: FilterDef[];
}

/** A report-specific filter: its key in `filters`, its Chinese label, its value type. */
export interface FilterDef {
  id: string;
  name: string;
  type: 'string' | 'number[]' | 'boolean' | 'number';
  description: string;
}

const n = (id: string, name: string, definition: string, unit = 'none'): MetricDef => ({ id, name, definition, unit, type: 'number' });
const rate = (id: string, name: string, definition: string): MetricDef => n(id, name, definition, 'percentunit');
const secs = (id: string, name: string, definition: string): MetricDef => n(id, name, definition, 's');
const hours = (id: string, name: string, definition: string): MetricDef => n(id, name, definition, 'h');
const time = (id: string, name: string, definition: string): MetricDef => ({ id, name, definition, unit: 'dateTimeAsIso', type: 'time' });
const text = (id: string, name: string, definition: string): MetricDef => ({ id, name, definition, unit: 'string', type: 'string' });

const D = {
  date: { id: 'date', name: '日期', type: 'string' },
  hour: { id: 'hour', name: '时段', type: 'number' },
  group_id: { id: 'group_id', name: '技能组ID', type: 'string' },
  group_name: { id: 'group_name', name: '技能组', type: 'string' },
  agent_id: { id: 'agent_id', name: '客服ID', type: 'string' },
  agent_name: { id: 'agent_name', name: '客服姓名', type: 'string' },
  work_no: { id: 'work_no', name: '工号', type: 'string' },
  category: { id: 'category', name: '类目名称', type: 'string' },
  ticket_type: { id: 'ticket_type', name: '工单类型', type: 'string' },
  node: { id: 'node', name: '工单节点', type: 'string' },
} satisfies Record<string, DimensionDef>;

const LEVELS: [string, string, string, number][] = [
  ['very_satisfied', '非常满意量', '非常满意度', 5],
  ['satisfied', '满意量', '满意度', 4],
  ['neutral', '一般满意量', '一般满意度', 3],
  ['dissatisfied', '不满意量', '不满意度', 2],
  ['very_dissatisfied', '非常不满意量', '非常不满意度', 1],
];

function ratingMetrics(creditedTo: string): MetricDef[] {
  return [
    n('rated', '参评量', `rated sessions credited to the ${creditedTo}`),
    rate('rated_rate', '参评率', 'rated / answered'),
    ...LEVELS.flatMap(([id, countName, rateName, score]) => [
      n(id, countName, `credited ratings of score ${score}`),
      rate(`${id}_rate`, rateName, `${id} / rated`),
    ]),
  ];
}

const TICKET_METRICS: MetricDef[] = [
  n('total', '工单总数', 'tickets created in the range'),
  n('closed_on_time', '正常完结', 'closed at or before its deadline'),
  n('closed_overdue', '超时完结', 'closed after its deadline'),
  n('open', '未完结', 'not closed, deadline not passed (judged at query time)'),
  n('open_overdue', '超时未完结', 'not closed, deadline passed (judged at query time)'),
];

const LIVE_SHARED: MetricDef[] = [
  n('in_conversation', '对话中用户数', 'sessions now in a part (per group: parts of legs in the group)'),
  secs('longest_wait_seconds', '最长等待时间', 'longest current wait among sessions now queued; 0 when none'),
  rate('avg_satisfaction', '平均满意度', "today's ratings of 3–5 / today's ratings"),
  rate('relative_satisfaction', '相对满意度', "today's ratings of 4–5 / today's ratings"),
  secs('avg_talk_seconds', '平均对话时长', "today's ended parts: total duration / count"),
  n('agents_online', '在线人数', 'agents now online (per group: its members)'),
  n('agents_break', '小休人数', 'agents now in any other non-offline status'),
  n('agents_offline', '离线中人数', 'known agents now offline'),
  n('queue_length', '当前排队量', 'sessions now queued'),
  n('inflow', '流入量', 'today: sessions that asked for a human (per group: legs entered)'),
  n('answered', '总接通量', 'today: sessions answered (per group: legs answered)'),
  rate('answer_rate', '接通率', 'answered / inflow'),
  n('transfers', '转接量', "today's transfers, manual and timeout"),
  rate('transfer_rate', '转接率', 'transfers / answered'),
  n('abandoned', '排队放弃量', "today's abandons"),
  rate('abandon_rate', '排队放弃率', 'abandoned / inflow'),
  n('transfer_failed', '转人工失败量', "today's rejects"),
];

/** Every report of metrics.md, by id. */
export const REPORTS: ReportDef[] = [
  {
    id: 'group_daily',
    name: '人工技能组日统计',
    section: '报表',
    description: 'per day × skill group; a leg counts on the day of its queue entry',
    grain: 'day',
    dimensions: [D.date, D.group_id, D.group_name],
    filters: ['groups'],
    metrics: [
      n('inflow', '流入量', 'legs entered into the group (direct, transfer and overflow; abandoned ones too)'),
      n('answered', '应答量', 'sessions credited to the group (last answered leg is here)'),
      rate('answer_rate', '接通率', 'answered / inflow'),
      n('direct_inflow', '直接流入量', 'legs with via = direct'),
      n('direct_answered', '直接应答量', 'direct legs answered in this group'),
      rate('direct_answer_rate', '直接接通率', 'direct_answered / direct_inflow'),
      n('transfer_out', '主动转出量', 'legs of the group whose part ended by a manual transfer'),
      rate('transfer_out_rate', '主动转出率', 'transfer_out / answered'),
      ...ratingMetrics('group'),
      n('invited', '邀评量', 'sessions with a session.invite during a part in this group (once per session)'),
      rate('invited_rate', '邀评率', 'invited / answered'),
      n('answered_20s', '20秒应答量', 'credited sessions whose credited leg waited ≤ 20 s'),
      rate('answered_20s_rate', '20秒接通率', 'answered_20s / answered'),
    ],
  },
  {
    id: 'group_slot',
    name: '人工技能组时段统计',
    section: '报表',
    description: 'per day × hour of the queue entry (0–23) × skill group',
    grain: 'hour',
    dimensions: [D.date, D.hour, D.group_id, D.group_name],
    filters: ['groups'],
    metrics: [
      n('inflow', '流入量', 'legs entered into the group in the hour'),
      n('answered', '应答量', 'sessions credited to the group, by the hour of the credited leg’s queue entry'),
      n('lost', '呼损量', 'inflow − answered'),
      rate('answer_rate', '接通率', 'answered / inflow'),
      rate('answered_20s_rate', '20秒接通率', 'answered_20s / answered'),
    ],
  },
  {
    id: 'agent_daily',
    name: '人工客服日统计',
    section: '报表',
    description: 'per day × agent; conversation figures count on the day of the answer',
    grain: 'day',
    dimensions: [D.date, D.agent_id, D.agent_name, D.work_no],
    filters: ['groups', 'agents'],
    metrics: [
      time('first_online_at', '首次上线时间', 'first moment of the day in a non-offline status'),
      time('last_offline_at', '最后离线时间', 'last change to offline within the day (null if none)'),
      hours('work_hours', '工作时长_小时', 'time in non-offline statuses within the day (机器人托管 included)'),
      n('answered', '应答量', 'distinct sessions the agent answered'),
      n('transfer_out', '转出量', "the agent's manual transfers"),
      secs('avg_talk_seconds', '平均对话时长_秒', "total duration of the agent's parts / number of parts"),
      n('sessions_per_hour', '小时对话量', 'answered / work_hours'),
      ...ratingMetrics('agent'),
      secs(
        'avg_first_response_seconds',
        '平均首次响应时长_秒',
        'mean over parts of (first agent message in the part − answer); parts with no agent message are left out',
      ),
      rate('responded_30s_rate', '30秒响应率', 'parts whose first response ≤ 30 s / answered'),
      n(
        'no_revisit',
        '未二次来访会话数',
        'answered sessions whose user started no new session within 24 h after this one ended; anonymous sessions count as no revisit',
      ),
      rate('one_contact_resolution_rate', '一次性解决率', "no_revisit / answered; null until 24 h after the day's end (T+2)"),
      n('invited', '邀评量', 'sessions the agent invited'),
      rate('invited_rate', '邀评率', 'invited / answered'),
      hours('break_hours', '小休时长_小时', 'time in status break within the day'),
      hours('busy_hours', '忙碌时长_小时', 'time in status busy within the day'),
      hours('rest_hours', '休息时长_小时', 'time in status rest within the day'),
      hours('meeting_hours', '会议时长_小时', 'time in status meeting within the day'),
      hours('training_hours', '培训时长_小时', 'time in status training within the day'),
      hours('meal_hours', '用餐时长_小时', 'time in status meal within the day'),
      hours('restroom_hours', '卫生间时长_小时', 'time in status restroom within the day'),
      hours('discussion_hours', '洽谈时长_小时', 'time in status discussion within the day'),
      hours('outbound_hours', '外呼时长_小时', 'time in status outbound within the day'),
      hours('custom_hours', '自定义时长_小时', 'time in status custom within the day'),
      hours('hosted_hours', '机器人托管时长_小时', 'time in status hosted within the day'),
      secs(
        'avg_reply_seconds',
        '平均回复时长_秒',
        "in the agent's parts, each run of visitor messages that an agent message answers: first agent message after the run − first message of the run; the mean",
      ),
      rate('utilization', '工时利用率', "time with ≥ 1 of the agent's parts open / work time"),
    ],
  },
  {
    id: 'category_daily',
    name: '服务记录类目统计',
    section: '报表',
    description: 'per day of the summary × category path (一级/二级/三级)',
    grain: 'day',
    dimensions: [D.date, D.category],
    filters: ['agents'],
    metrics: [
      n('inbound_call', '客户来电', 'summaries of channel inbound_call'),
      n('manual_outbound', '手动外呼', 'summaries of channel manual_outbound'),
      n('system_outbound', '系统外呼', 'summaries of channel system_outbound'),
      n('online', '在线服务', 'summaries of channel online'),
      n('total', '合计', 'inbound_call + manual_outbound + system_outbound + online'),
    ],
  },
  {
    id: 'category_top',
    name: '服务记录类目TOP',
    section: '报表',
    description: 'per last-level category over the range, highest first',
    grain: 'range',
    dimensions: [D.category],
    filters: ['agents'],
    metrics: [n('count', '使用量', 'summaries whose path ends in that category')],
  },
  {
    id: 'ticket_agent',
    name: '客服工单统计',
    section: '报表',
    description: 'tickets created in the range, per creator agent; state judged at query time',
    grain: 'range',
    dimensions: [D.agent_id, D.agent_name],
    filters: ['agents'],
    metrics: TICKET_METRICS,
  },
  {
    id: 'ticket_type',
    name: '工单类型统计',
    section: '报表',
    description: 'tickets created in the range, per ticket type; state judged at query time',
    grain: 'range',
    dimensions: [D.ticket_type],
    filters: ['agents'],
    metrics: TICKET_METRICS,
  },
  {
    id: 'ticket_detail',
    name: '工单明细统计',
    section: '报表',
    description: 'tickets created in the range, per agent × type × current node; state judged at query time',
    grain: 'range',
    dimensions: [D.agent_id, D.agent_name, D.ticket_type, D.node],
    filters: ['agents'],
    metrics: TICKET_METRICS,
  },
  {
    id: 'overview',
    name: '服务总量',
    section: '报表',
    description: 'per day: 服务总量 = 在线服务量',
    grain: 'day',
    dimensions: [D.date],
    filters: [],
    metrics: [n('service_total', '服务总量', 'service_total = online_service'), n('online_service', '在线', 'sessions answered that day')],
  },
  {
    id: 'agent_log',
    name: '客服日志',
    section: '报表',
    description: 'one row per agent.log event in the range',
    grain: 'list',
    dimensions: [],
    filters: ['agents'],
    metrics: [
      time('time', '时间', 'when the operation happened'),
      text('agent_id', '客服ID', 'agent id'),
      text('work_no', '工号', '客服工号'),
      text('agent_name', '客服姓名', 'agent name'),
      text('platform', '所属平台', 'platform of the operation'),
      text('operation', '操作', 'the operation'),
    ],
  },
  {
    id: 'sessions',
    name: '会话记录',
    section: '报表',
    description: 'one row per session that reached a human, by the day it started',
    grain: 'list',
    dimensions: [],
    filters: ['groups', 'agents'],
    extraFilters: [
      { id: 'userId', name: '用户ID', type: 'string', description: 'exact user id' },
      { id: 'satisfaction', name: '满意度', type: 'number[]', description: 'scores 1–5 (export: satisfaction=5,4)' },
      { id: 'category', name: '类目', type: 'string', description: 'a path prefix (售后/退款) or any one level (退款)' },
      { id: 'revisit', name: '24小时内复访', type: 'boolean', description: 'true or false (export: revisit=yes|no)' },
      { id: 'remark', name: '备注', type: 'string', description: 'substring of the remark' },
      { id: 'limit', name: '条数上限', type: 'number', description: 'most rows answered, default 1000 (exports have none)' },
    ],
    metrics: [
      text('service_id', '服务记录ID', 'the session id'),
      text('state', '状态', 'summary state, or 未小记'),
      text('category', '类目', 'category path of the summary'),
      secs('duration_seconds', '服务时长', 'first answer → end'),
      text('satisfaction', '满意度', 'label of the score, or null'),
      text('remark', '备注', 'remark of the summary'),
      text('user_id', '用户ID', 'null for anonymous users'),
      {
        id: 'revisit_24h',
        name: '24小时内复访',
        definition: 'the user started another session within 24 h after this one ended',
        unit: 'bool_yes_no',
        type: 'boolean',
      },
      text('region', '归属地', 'region of the visitor'),
      time('started_at', '开始时间', 'session.start time'),
      text('agents', '客服', 'agents that served it, in order'),
      text('groups', '技能组', 'skill groups it passed through, in order'),
    ],
  },
  {
    id: 'staffing_forecast',
    name: '排班建议',
    section: '报表',
    description:
      'per day × 30-minute slot × skill group: inflow forecast from the same weekday and slot of the past 8 weeks (weighted 8, 7, … 1 from the latest), its band, what came, and the agents Erlang C asks for; days up to 7 ahead (docs/reports.md)',
    grain: 'range',
    dimensions: [D.date, { id: 'slot', name: '时段', type: 'string' }, D.group_id, D.group_name],
    filters: ['groups'],
    metrics: [
      time('slot_start', '时段开始', 'the local start of the 30-minute slot'),
      n('forecast', '预测流入量', 'weighted average of the same slot on the same weekday of the past weeks (up to 8; weights 8, 7, … 1 from last week on)'),
      n('forecast_lower', '预测下限', 'forecast − 2 standard deviations (spread of the past weeks plus Poisson variance), at least 0'),
      n('forecast_upper', '预测上限', 'forecast + 2 standard deviations'),
      n('actual', '实际流入量', 'legs entered into the group in the slot; null until the slot is over'),
      n('forecast_error', '预测误差', 'actual − forecast (positive: more came than forecast)'),
      rate('backtest_wape', '回测误差', "the group's WAPE over the last 14 days: Σ|actual − forecast| / Σ actual of the forecasts those days would have made"),
      secs('aht_seconds', '平均处理时长', "ended parts' mean duration in the same slot of the same past weeks (else the group's mean)"),
      n('agents_required', '需要人数', 'Erlang C: the fewest agents answering the target share within the target wait (CS_SERVICE_LEVEL_TARGETS), each serving the mean 接待上限 of the group'),
      n('weeks', '参考周数', 'past weeks the forecast was made from'),
    ],
  },
  {
    id: 'live_overview',
    name: '指标总览',
    section: '监控',
    description: 'tenant-wide live figures; "today" is since local midnight',
    grain: 'live',
    dimensions: [],
    filters: [],
    metrics: LIVE_SHARED,
  },
  {
    id: 'live_groups',
    name: '技能组列表',
    section: '监控',
    description: 'the live figures per skill group',
    grain: 'live',
    dimensions: [D.group_id, D.group_name],
    filters: ['groups'],
    metrics: [
      ...LIVE_SHARED,
      // 需要人数 (docs/live-monitoring.md, "需要人数"): Erlang C over the recent arrivals and handling time.
      n(
        'agents_required',
        '需要人数',
        'agents needed now to meet the service-level target (Erlang C; empty while no handling time is known)',
      ),
      rate(
        'service_level_expected',
        '预计服务水平',
        'share of requests the agents now online will answer within the target wait (Erlang C)',
      ),
      n('arrivals_per_hour', '近15分钟流入速率', 'legs entered in the last 15 minutes, per hour'),
      secs('recent_aht_seconds', '近1小时平均处理时长', "parts ended in the last 60 minutes: total duration / count (today's if none)"),
      n('concurrency', '并发接待数', 'sessions one agent serves at once in the model: mean 接待上限 of the members online, rounded down'),
      rate('service_level_target', '服务水平目标', 'share to answer within the target wait (CS_SERVICE_LEVEL_TARGETS)'),
      secs('service_level_target_seconds', '目标应答时间', 'the target wait (CS_SERVICE_LEVEL_TARGETS)'),
    ],
  },
  {
    id: 'live_agents',
    name: '在线客服列表',
    section: '监控',
    description: 'one row per agent, filterable by skill group and by name',
    grain: 'live',
    dimensions: [D.agent_id],
    filters: ['groups', 'agents'],
    metrics: [
      text('name', '姓名', "the agent's name"),
      text('work_no', '工号', '工号'),
      text('seat', '工位号', 'seat chosen at login'),
      text('status', '当前状态', 'current status id (online, break, … offline)'),
      text('status_label', '当前状态名称', 'label of the current status (custom statuses show their own label)'),
      secs('status_seconds', '当前状态持续时长', 'time in the current status'),
      n('in_conversation', '对话中用户数', 'sessions now in a part with the agent'),
      n('manual_in_conversation', '对话中手动接入用户数', 'of those, picked up manually'),
      n('max_sessions', '接待上限', 'most sessions at once'),
      n('answered', '累计应答量', 'sessions answered today'),
      n('transfers_manual', '主动转接量', "today's manual transfers"),
      n('transfers_timeout', '超时转接量', "today's timeout transfers"),
      rate('avg_satisfaction', '平均满意度', "today's ratings of 3–5 credited to the agent / its ratings"),
      rate('relative_satisfaction', '相对满意度', "today's ratings of 4–5 credited to the agent / its ratings"),
      secs('avg_talk_seconds', '平均对话时长', "today's part time / answered"),
      time('last_offline_at', '离线时间', 'the latest change to offline'),
      secs('offline_seconds', '离线时长', 'today, offline time since first online'),
      time('first_online_at', '今日首次上线时间', 'first non-offline moment today'),
      secs('online_seconds', '累计上线时长', "today's non-offline time"),
      text('offline_remark', '离线备注', 'remark given when going offline'),
    ],
  },
];

const BY_ID = new Map(REPORTS.map((r) => [r.id, r]));

/** The report with this id, or undefined. */
export function findReport(id: string): ReportDef | undefined {
  return BY_ID.get(id);
}

/** Chinese labels of the satisfaction scores. */
export const SATISFACTION_LABELS: Record<number, string> = { 5: '非常满意', 4: '满意', 3: '一般', 2: '不满意', 1: '非常不满意' };

/** Chinese labels of the agent statuses. */
export const STATUS_LABELS: Record<string, string> = {
  online: '在线',
  break: '小休',
  busy: '忙碌',
  rest: '休息',
  meeting: '会议',
  training: '培训',
  meal: '用餐',
  restroom: '卫生间',
  discussion: '洽谈',
  outbound: '外呼',
  custom: '自定义',
  hosted: '机器人托管',
  offline: '离线',
};
