import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { findReport, STATUS_LABELS } from '@cs-data-ops/exporter/catalog';
import { CsQueryBuilder, live, liveRate, promQuery, VAR_GROUPS } from './queries.js';
import {
  base,
  dashboardUrl,
  finish,
  graphPanel,
  groupVariable,
  LOSS_RATE,
  QUEUE,
  row,
  SERVICE_LEVEL,
  statPanel,
  stepsFor,
  tablePanel,
  tenantVariable,
  textVariable,
  UID,
  WAIT,
  type GeneratedDashboard,
} from './common.js';

const ids = (report: string) => findReport(report)!.metrics.map((m) => m.id);

// Label matchers every Prometheus panel shares; `group` carries the live group ids of the plugin variable.
const TG = 'tenant="$tenant", group=~"$group"';
const T = 'tenant="$tenant"';

/** A stat panel over some live_overview figures, each field with its own unit and thresholds from the catalog. */
function overviewStats(title: string, metrics: string[], w: number) {
  const defs = findReport('live_overview')!.metrics;
  const p = statPanel(title, CsQueryBuilder.live('live_overview', metrics), { w, h: 5 });
  for (const id of metrics) {
    const def = defs.find((m) => m.id === id)!;
    const props: dashboard.DynamicConfigValue[] = [{ id: 'unit', value: def.unit }];
    const steps = stepsFor(id) ?? (id === 'transfer_failed' ? QUEUE : undefined);
    if (steps)
      props.push({
        id: 'thresholds',
        value: { mode: dashboard.ThresholdsMode.Absolute, steps: steps.map(([value, color]) => ({ value, color })) },
      });
    p.overrideByName(id, props);
  }
  return p;
}

const statusMappings: dashboard.ValueMapping[] = [
  {
    type: dashboard.MappingType.ValueToText,
    options: Object.fromEntries(
      Object.entries(STATUS_LABELS).map(([status, label], index) => [
        status,
        { text: label, index, color: status === 'online' ? 'green' : status === 'offline' ? 'text' : 'orange' },
      ]),
    ),
  },
];

/** Queue and service-level graphs shared by 在线监控 and 在线技能组监控. */
function queueGraphs() {
  return [
    graphPanel('当前排队量', [promQuery(`sum by (group) (${live('cs_queue_length', TG)})`, '{{group}}')], { steps: QUEUE, min: 0 }),
    graphPanel('最长等待时间', [promQuery(`max by (group) (${live('cs_queue_longest_wait_seconds', TG)})`, '{{group}}')], {
      unit: 's',
      steps: WAIT,
      min: 0,
    }),
    graphPanel(
      '接通率 / 20秒接通率 (5分钟)',
      [
        promQuery(`tenant_group:cs_answer_rate:ratio_rate5m{${TG}}`, '接通率 {{group}}'),
        promQuery(`tenant_group:cs_answered_20s_rate:ratio_rate5m{${TG}}`, '20秒接通率 {{group}}'),
      ],
      { unit: 'percentunit', steps: SERVICE_LEVEL, min: 0, max: 1 },
    ),
    graphPanel('排队放弃率 (5分钟)', [promQuery(`tenant_group:cs_abandon_rate:ratio_rate5m{${TG}}`, '{{group}}')], {
      unit: 'percentunit',
      steps: LOSS_RATE,
      min: 0,
      max: 1,
    }),
  ];
}

/**
 * 需要人数 vs 在线人数 and 预计服务水平 (docs/live-monitoring.md, "需要人数"), on 在线监控 and 在线技能组监控:
 * the Erlang C figures beside the queue they explain. The 人手不足 alert compares the same two series.
 */
function staffingGraphs() {
  return [
    graphPanel(
      '需要人数 vs 在线人数',
      [
        promQuery(`sum by (group) (${live('cs_agents_required', TG)})`, '需要 {{group}}'),
        promQuery(`sum by (group) (${live('cs_agents', `${TG}, status="online"`)})`, '在线 {{group}}'),
      ],
      { min: 0 },
    ),
    graphPanel('预计服务水平 (在线人数)', [promQuery(`min by (group) (${live('cs_service_level_expected', TG)})`, '{{group}}')], {
      unit: 'percentunit',
      steps: SERVICE_LEVEL,
      min: 0,
      max: 1,
    }),
  ];
}

function liveOverview(): GeneratedDashboard {
  const b = base(UID.liveOverview, '在线监控', '监控', '实时指标总览、技能组列表、在线客服列表与排队趋势。"今日"自本地零点起。')
    .withVariable(tenantVariable())
    .withVariable(groupVariable('监控'))
    .withRow(row('指标总览'))
    .withPanel(overviewStats('会话', ['in_conversation', 'queue_length', 'longest_wait_seconds'], 6))
    .withPanel(overviewStats('今日服务', ['inflow', 'answered', 'answer_rate', 'abandoned', 'abandon_rate'], 10))
    .withPanel(overviewStats('客服', ['agents_online', 'agents_break', 'agents_offline'], 8))
    .withPanel(overviewStats('转接', ['transfers', 'transfer_rate', 'transfer_failed'], 8))
    .withPanel(overviewStats('满意度与时长', ['avg_satisfaction', 'relative_satisfaction', 'avg_talk_seconds'], 16))
    .withRow(row('排队与服务水平'));
  for (const g of queueGraphs()) b.withPanel(g);
  for (const g of staffingGraphs()) b.withPanel(g);
  b.withPanel(
    graphPanel(
      '租户服务水平 (5分钟 / 1小时)',
      [
        promQuery(`tenant:cs_answer_rate:ratio_rate5m{${T}}`, '接通率'),
        promQuery(`tenant:cs_answered_20s_rate:ratio_rate5m{${T}}`, '20秒接通率'),
        promQuery(`tenant:cs_abandon_rate:ratio_rate5m{${T}}`, '排队放弃率'),
        promQuery(`tenant:cs_avg_satisfaction:ratio_rate1h{${T}}`, '平均满意度'),
        promQuery(`tenant:cs_relative_satisfaction:ratio_rate1h{${T}}`, '相对满意度'),
      ],
      { unit: 'percentunit', steps: SERVICE_LEVEL, min: 0, max: 1, w: 24 },
    ),
  );
  b.withRow(row('技能组列表'))
    .withPanel(
      tablePanel('技能组列表', CsQueryBuilder.live('live_groups', ids('live_groups'), { groups: VAR_GROUPS }), ids('live_groups'), {
        hide: ['group_id'],
      }).overrideByName('group_name', [
        { id: 'links', value: [{ title: '在线技能组监控', url: dashboardUrl(UID.liveGroups, '&var-group=${__data.fields.group_id}') }] },
      ]),
    )
    .withRow(row('在线客服列表'))
    .withPanel(agentTable('在线客服列表', ''))
    .withRow(row('采集状态'))
    .withPanel(
      graphPanel(
        '事件接收 (每秒)',
        [
          promQuery('sum(rate(cs_exporter_events_ingested_total[5m]))', '接收'),
          promQuery('sum(rate(cs_exporter_events_rejected_total[5m]))', '拒收'),
        ],
        { w: 8 },
      ),
    )
    .withPanel(
      graphPanel(
        '接收延迟',
        [
          promQuery('max(cs_exporter_ingest_lag_seconds)', '延迟'),
          promQuery('time() - max(cs_exporter_last_event_timestamp_seconds)', '距最后事件'),
        ],
        { unit: 's', w: 8 },
      ),
    )
    .withPanel(graphPanel('指标生成耗时', [promQuery('max(cs_exporter_scrape_duration_seconds)', '/metrics')], { unit: 's', w: 8 }));
  return { folder: '监控', uid: UID.liveOverview, dashboard: finish(b.build()) };
}

/** The live_agents table, filtered by the skill-group variable and, on 在线客服监控, by name or 工号. */
function agentTable(title: string, name: string) {
  const metrics = ids('live_agents');
  return tablePanel(title, CsQueryBuilder.live('live_agents', metrics, { groups: VAR_GROUPS, ...(name ? { name } : {}) }), metrics, {
    h: 12,
  })
    .overrideByName('status', [
      { id: 'mappings', value: statusMappings },
      { id: 'custom.cellOptions', value: { type: 'color-text' } },
    ])
    .overrideByName('name', [
      { id: 'links', value: [{ title: '客服日统计', url: dashboardUrl(UID.reportOnline, '&var-agent=${__data.fields.agent_id}') }] },
    ]);
}

function liveAgents(): GeneratedDashboard {
  const b = base(UID.liveAgents, '在线客服监控', '监控', '按技能组与姓名/工号筛选的在线客服状态与今日工作量。')
    .withVariable(tenantVariable())
    .withVariable(groupVariable('监控'))
    .withVariable(textVariable('name', '姓名/工号'))
    .withPanel(agentTable('在线客服', '${name}'))
    .withPanel(
      graphPanel('客服状态 (技能组成员)', [promQuery(`sum by (status) (${live('cs_agents', TG)})`, '{{status}}')], { stack: true, min: 0 }),
    )
    .withPanel(
      graphPanel('对话中用户数', [promQuery(`sum by (group) (${live('cs_conversations_active', TG)})`, '{{group}}')], { stack: true, min: 0 }),
    )
    .withPanel(
      graphPanel('各状态客服数 (全租户)', [promQuery(`count by (status) (${live('cs_agent_status', T)} == 1)`, '{{status}}')], {
        stack: true,
        min: 0,
      }),
    )
    .withPanel(graphPanel('客服对话中用户数 (前10)', [promQuery(`topk(10, ${live('cs_agent_active_sessions', T)})`, '{{agent}}')], { min: 0 }))
    .withPanel(
      graphPanel(
        '当前状态持续时长 (最长10人)',
        [promQuery(`topk(10, time() - ${live('cs_agent_status_since_timestamp_seconds', T)})`, '{{agent}}')],
        {
          unit: 's',
          w: 24,
        },
      ),
    );
  return { folder: '监控', uid: UID.liveAgents, dashboard: finish(b.build()) };
}

/** The group's own live figures, for the repeated per-group row (the repeat scopes $group to one id). */
function overviewGroupStats() {
  const metrics = ['queue_length', 'longest_wait_seconds', 'in_conversation', 'agents_online', 'answer_rate'];
  const defs = findReport('live_groups')!.metrics;
  const p = statPanel('实时', CsQueryBuilder.live('live_groups', metrics, { groups: VAR_GROUPS }), { w: 8, h: 6 });
  for (const id of metrics) {
    const props: dashboard.DynamicConfigValue[] = [{ id: 'unit', value: defs.find((m) => m.id === id)!.unit }];
    const steps = stepsFor(id);
    if (steps)
      props.push({
        id: 'thresholds',
        value: { mode: dashboard.ThresholdsMode.Absolute, steps: steps.map(([value, color]) => ({ value, color })) },
      });
    p.overrideByName(id, props);
  }
  return p;
}

function liveGroups(): GeneratedDashboard {
  const metrics = ids('live_groups');
  const b = base(UID.liveGroups, '在线技能组监控', '监控', '按技能组的实时指标与趋势。')
    .withVariable(tenantVariable())
    .withVariable(groupVariable('监控'))
    .withPanel(
      tablePanel('技能组', CsQueryBuilder.live('live_groups', metrics, { groups: VAR_GROUPS }), metrics, { h: 8, hide: ['group_id'] }),
    );
  for (const g of queueGraphs()) b.withPanel(g);
  for (const g of staffingGraphs()) b.withPanel(g);
  b.withPanel(graphPanel('客服状态', [promQuery(`sum by (group, status) (${live('cs_agents', TG)})`, '{{group}} {{status}}')], { min: 0 }))
    .withPanel(graphPanel('对话中用户数', [promQuery(`sum by (group) (${live('cs_conversations_active', TG)})`, '{{group}}')], { min: 0 }))
    .withPanel(
      graphPanel(
        '流入 / 应答 / 放弃 (每分钟)',
        [
          promQuery(`sum by (via) (${liveRate('cs_sessions_inflow_total', TG, '5m')}) * 60`, '流入 {{via}}'),
          promQuery(`sum(${liveRate('cs_sessions_answered_total', TG, '5m')}) * 60`, '应答'),
          promQuery(`sum(${liveRate('cs_sessions_abandoned_total', TG, '5m')}) * 60`, '放弃'),
        ],
        { min: 0 },
      ),
    )
    .withPanel(
      graphPanel(
        '转接与转人工失败 (每分钟)',
        [
          promQuery(`sum by (reason) (${liveRate('cs_transfers_total', TG, '5m')}) * 60`, '转接 {{reason}}'),
          promQuery(`sum by (reason) (${liveRate('cs_sessions_rejected_total', TG, '5m')}) * 60`, '转人工失败 {{reason}}'),
        ],
        { min: 0 },
      ),
    )
    .withPanel(
      graphPanel(
        '排队等待时长 P50 / P90 (5分钟)',
        [
          promQuery(`histogram_quantile(0.5, sum by (le) (${liveRate('cs_queue_wait_seconds_bucket', TG, '5m')}))`, 'P50'),
          promQuery(`histogram_quantile(0.9, sum by (le) (${liveRate('cs_queue_wait_seconds_bucket', TG, '5m')}))`, 'P90'),
          promQuery(`sum(${liveRate('cs_queue_wait_seconds_sum', TG, '5m')}) / sum(${liveRate('cs_queue_wait_seconds_count', TG, '5m')})`, '平均'),
        ],
        { unit: 's', steps: WAIT, min: 0 },
      ),
    )
    .withPanel(
      graphPanel(
        '平均对话时长 (5分钟)',
        [
          promQuery(
            `sum by (group) (${liveRate('cs_part_duration_seconds_total', TG, '5m')}) / sum by (group) (${liveRate('cs_parts_ended_total', TG, '5m')})`,
            '{{group}}',
          ),
        ],
        { unit: 's', min: 0 },
      ),
    )
    .withPanel(
      graphPanel(
        '满意度 (1小时)',
        [
          promQuery(`tenant_group:cs_avg_satisfaction:ratio_rate1h{${TG}}`, '平均满意度 {{group}}'),
          promQuery(`tenant_group:cs_relative_satisfaction:ratio_rate1h{${TG}}`, '相对满意度 {{group}}'),
        ],
        { unit: 'percentunit', steps: SERVICE_LEVEL, min: 0, max: 1 },
      ),
    )
    .withPanel(
      graphPanel('评价 (每小时)', [promQuery(`sum by (score) (${liveRate('cs_ratings_total', TG, '1h', 'increase')})`, '{{score}}分')], {
        stack: true,
        min: 0,
      }),
    );
  // One row per selected group, repeated by Grafana: each group's figures side by side with its own queue.
  const G = 'tenant="$tenant", group="$group"';
  b.withRow(row('技能组：${group:text}').repeat('group'))
    .withPanel(overviewGroupStats())
    .withPanel(
      graphPanel(
        '排队量 / 最长等待',
        [promQuery(`sum(${live('cs_queue_length', G)})`, '排队量'), promQuery(`max(${live('cs_queue_longest_wait_seconds', G)})`, '最长等待 (秒)')],
        {
          w: 8,
          h: 6,
          min: 0,
        },
      ),
    )
    .withPanel(
      graphPanel(
        '接通率 / 放弃率 (5分钟)',
        [
          promQuery(`tenant_group:cs_answer_rate:ratio_rate5m{${G}}`, '接通率'),
          promQuery(`tenant_group:cs_abandon_rate:ratio_rate5m{${G}}`, '排队放弃率'),
        ],
        { unit: 'percentunit', steps: SERVICE_LEVEL, w: 8, h: 6, min: 0, max: 1 },
      ),
    );
  return { folder: '监控', uid: UID.liveGroups, dashboard: finish(b.build()) };
}

export function monitoringDashboards(): GeneratedDashboard[] {
  return [liveOverview(), liveAgents(), liveGroups()];
}
