import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as common from '@grafana/grafana-foundation-sdk/common';
import { findReport, SATISFACTION_LABELS } from '@cs-data-ops/exporter/catalog';
import { CS_DATASOURCE, CsQueryBuilder, VAR_AGENTS, VAR_GROUPS } from './queries.js';
import {
  ALL_BLANK,
  AGENT_FILTER,
  allAsBlankParam,
  EXPORT_PARAM,
  exportFilter,
  exportText,
  agentVariable,
  barPanel,
  base,
  dashboardUrl,
  exportLink,
  exportPanelLinks,
  finish,
  graphPanel,
  GROUP_FILTER,
  groupVariable,
  idColumns,
  row,
  SERVICE_LEVEL,
  statPanel,
  tablePanel,
  tenantVariable,
  textVariable,
  UID,
  type GeneratedDashboard,
} from './common.js';

const ids = (report: string) => findReport(report)!.metrics.map((m) => m.id);
const title = (report: string) => findReport(report)!.name;

/** Filters the export honours, as the exporter's query parameters, from the report's catalog entry. */
function exportFilters(report: string): string {
  const f = findReport(report)!.filters;
  return (f.includes('groups') ? GROUP_FILTER : '') + (f.includes('agents') ? AGENT_FILTER : '');
}

/** A report table with all its metrics, the dashboard's group/agent filters and its downloads. */
function reportTable(report: string, opts: { h?: number; w?: number } = {}) {
  const def = findReport(report)!;
  const metrics = ids(report);
  const q = CsQueryBuilder.report(report, metrics, {
    groups: def.filters.includes('groups') ? VAR_GROUPS : [],
    agents: def.filters.includes('agents') ? VAR_AGENTS : [],
  });
  const t = tablePanel(def.name, q, metrics, { ...opts, hide: idColumns(def.dimensions) })
    .description(def.description)
    .links(exportPanelLinks(report, def.name, exportFilters(report)));
  // 报表 → 监控: a group's row opens its live view.
  if (def.dimensions.some((d) => d.id === 'group_name'))
    t.overrideByName('group_name', [
      { id: 'links', value: [{ title: '在线技能组监控', url: dashboardUrl(UID.liveGroups, '&var-group=${__data.fields.group_id}') }] },
    ]);
  return t;
}

function reportDashboard(uid: string, name: string, description: string, reports: string[]) {
  const b = base(uid, name, '报表', description).withVariable(tenantVariable());
  const filters = new Set(reports.flatMap((r) => findReport(r)!.filters));
  if (filters.has('groups')) b.withVariable(groupVariable('报表'));
  if (filters.has('agents')) b.withVariable(agentVariable('报表'));
  for (const r of reports) b.link(exportLink(r, title(r), 'xlsx', exportFilters(r)));
  return b;
}

function overview(): GeneratedDashboard {
  const b = reportDashboard(UID.reportOverview, '总览', '服务总量与客服日志。报表 T+1，今日数据为临时值。', ['overview', 'agent_log'])
    .withPanel(
      statPanel('服务总量 (所选时间段)', CsQueryBuilder.report('overview', ['service_total']), { w: 6, h: 8 }).reduceOptions(
        new common.ReduceDataOptionsBuilder().calcs(['sum']).values(false),
      ),
    )
    .withPanel(
      graphPanel('服务总量 (每日)', [CsQueryBuilder.report('overview', ['service_total', 'online_service'], { format: 'timeseries' })], {
        w: 18,
        h: 8,
        min: 0,
      }).datasource(CS_DATASOURCE),
    )
    .withPanel(reportTable('overview', { h: 8 }))
    .withPanel(reportTable('agent_log', { h: 12 }));
  return { folder: '报表', uid: UID.reportOverview, dashboard: finish(b.build()) };
}

function online(): GeneratedDashboard {
  const b = reportDashboard(UID.reportOnline, '在线', '人工技能组日统计、时段统计与人工客服日统计。报表 T+1，一次性解决率 T+2。', [
    'group_daily',
    'group_slot',
    'agent_daily',
  ])
    .withRow(row(title('group_daily')))
    .withPanel(reportTable('group_daily'))
    .withRow(row(title('group_slot')))
    .withPanel(
      graphPanel(
        '时段流入量 / 应答量 / 呼损量',
        [CsQueryBuilder.report('group_slot', ['inflow', 'answered', 'lost'], { groups: VAR_GROUPS, format: 'timeseries' })],
        { w: 12, min: 0 },
      ).datasource(CS_DATASOURCE),
    )
    .withPanel(
      graphPanel(
        '时段接通率 / 20秒接通率',
        [CsQueryBuilder.report('group_slot', ['answer_rate', 'answered_20s_rate'], { groups: VAR_GROUPS, format: 'timeseries' })],
        { w: 12, unit: 'percentunit', steps: SERVICE_LEVEL, min: 0, max: 1 },
      ).datasource(CS_DATASOURCE),
    )
    .withPanel(reportTable('group_slot'))
    .withRow(row(title('agent_daily')))
    .withPanel(reportTable('agent_daily', { h: 12 }));
  return { folder: '报表', uid: UID.reportOnline, dashboard: finish(b.build()) };
}

function workbench(): GeneratedDashboard {
  const b = reportDashboard(UID.reportWorkbench, '工作台', '服务小记的类目统计。', ['category_top', 'category_daily'])
    .withPanel(
      barPanel(`${title('category_top')} (前20)`, CsQueryBuilder.report('category_top', ['count'], { agents: VAR_AGENTS }), {
        w: 12,
        h: 10,
        xField: 'category',
      })
        .orientation(common.VizOrientation.Horizontal) // long Chinese category names stay readable
        .links(exportPanelLinks('category_top', title('category_top'), exportFilters('category_top'))),
    )
    .withPanel(reportTable('category_top', { w: 12, h: 10 }))
    .withPanel(reportTable('category_daily', { h: 12 }));
  return { folder: '报表', uid: UID.reportWorkbench, dashboard: finish(b.build()) };
}

function tickets(): GeneratedDashboard {
  const b = reportDashboard(UID.reportTickets, '工单', '所选时间段内创建的工单；完结状态按查询时刻判断。', [
    'ticket_agent',
    'ticket_type',
    'ticket_detail',
  ])
    .withPanel(reportTable('ticket_agent', { w: 12 }))
    .withPanel(reportTable('ticket_type', { w: 12 }))
    .withPanel(reportTable('ticket_detail', { h: 12 }));
  return { folder: '报表', uid: UID.reportTickets, dashboard: finish(b.build()) };
}

/** The 会话记录 filters of a download: every filter its panel applies, so the file holds the panel's rows. */
const SESSION_FILTERS = exportText('userId') + exportFilter('satisfaction') + exportText('category') + exportText('revisit') + exportText('remark');

function satisfactionVariable() {
  // Scores as values, labels as text. All means no filter at all (the plugin drops a variable at All),
  // so unrated sessions stay in the list.
  const values = [5, 4, 3, 2, 1].map((s) => `${SATISFACTION_LABELS[s]} : ${s}`).join(',');
  return new dashboard.CustomVariableBuilder('satisfaction')
    .label('满意度')
    .values(values)
    .multi(true)
    .includeAll(true)
    .allValue(allAsBlankParam(EXPORT_PARAM.satisfaction))
    .current({ text: ['All'], value: ['$__all'] });
}

function revisitVariable() {
  return new dashboard.CustomVariableBuilder('revisit')
    .label('24小时内复访')
    .values('是 : yes,否 : no')
    .includeAll(true)
    .allValue(ALL_BLANK)
    .current({ text: 'All', value: '$__all' });
}

function sessions(): GeneratedDashboard {
  const metrics = ids('sessions');
  const b = base(UID.sessions, '会话记录', '报表', '到达人工的会话，按开始日期。点击服务记录ID查看详情（对话记录与服务段）。')
    .withVariable(tenantVariable())
    .withVariable(groupVariable('报表'))
    .withVariable(agentVariable('报表'))
    .withVariable(textVariable('userId', '用户ID'))
    .withVariable(satisfactionVariable())
    .withVariable(textVariable('category', '类目 (任一级或路径前缀)'))
    .withVariable(revisitVariable())
    .withVariable(textVariable('remark', '备注'))
    .link(exportLink('sessions', '会话记录', 'xlsx', GROUP_FILTER + AGENT_FILTER + SESSION_FILTERS))
    .link(exportLink('sessions', '会话记录', 'csv', GROUP_FILTER + AGENT_FILTER + SESSION_FILTERS))
    .withPanel(
      tablePanel(
        '会话记录',
        CsQueryBuilder.sessions({
          userId: '${userId}',
          satisfaction: ['${satisfaction}'],
          category: '${category}',
          revisit: '${revisit}',
          remark: '${remark}',
          limit: 1000,
        }),
        metrics,
        { h: 20 },
      )
        .overrideByName('service_id', [
          {
            id: 'links',
            value: [
              { title: '详情', url: `/d/${UID.sessionDetail}?var-tenant=\${tenant}&var-session=\${__value.raw}&\${__url_time_range}` },
            ],
          },
        ])
        .links(exportPanelLinks('sessions', '会话记录', GROUP_FILTER + AGENT_FILTER + SESSION_FILTERS))
        .sortBy([new common.TableSortByFieldStateBuilder().displayName('开始时间').desc(true)]),
    );
  return { folder: '报表', uid: UID.sessions, dashboard: finish(b.build()) };
}

function sessionDetail(): GeneratedDashboard {
  const b = base(UID.sessionDetail, '会话详情', '报表', '一个会话的摘要、服务段、对话与完整对话记录。')
    .withVariable(tenantVariable())
    .withVariable(textVariable('session', '服务记录ID'))
    .link(
      new dashboard.DashboardLinkBuilder('返回会话记录')
        .type(dashboard.DashboardLinkType.Link)
        .url(dashboardUrl(UID.sessions, ''))
        .icon('arrow-left'),
    )
    .withPanel(tablePanel('会话', CsQueryBuilder.session('summary'), [], { h: 5 }))
    .withPanel(tablePanel('服务段', CsQueryBuilder.session('legs'), [], { h: 7, w: 12 }))
    .withPanel(tablePanel('对话', CsQueryBuilder.session('parts'), [], { h: 7, w: 12 }))
    .withPanel(
      tablePanel('对话记录', CsQueryBuilder.session('transcript'), [], { h: 20 }).overrideByName('text', [
        { id: 'custom.cellOptions', value: { type: 'auto', wrapText: true } },
        { id: 'custom.width', value: 900 },
      ]),
    );
  return { folder: '报表', uid: UID.sessionDetail, dashboard: finish(b.build()) };
}

/**
 * 排班建议: per group (a repeated row), the forecast with its band against what came, the agents each
 * 30-minute slot needs, and the back-tested error; the table and its Excel download for the rota
 * planner. Today and tomorrow by default (the report forecasts up to 7 days ahead).
 */
function staffing(): GeneratedDashboard {
  const report = 'staffing_forecast';
  const def = findReport(report)!;
  const G = { groups: ['${group}'] };
  const b = reportDashboard(
    UID.reportStaffing,
    def.name,
    '每个技能组每 30 分钟的流入量预测（过去 8 周同一星期、同一时段的加权平均，近的周权重大）及其区间、实际流入量、预测误差，以及按 Erlang C 达到服务水平目标所需的人数。今日为临时值。',
    [report],
  ).time({ from: 'now/d', to: 'now+1d/d' });
  b.link(exportLink(report, def.name, 'csv', exportFilters(report)));
  b.withRow(row('技能组：${group:text}').repeat('group'))
    .withPanel(
      graphPanel(
        '预测流入量 (含区间) 与实际流入量 (每30分钟)',
        [CsQueryBuilder.report(report, ['slot_start', 'forecast', 'forecast_lower', 'forecast_upper', 'actual'], G)],
        { w: 16, h: 9, min: 0 },
      )
        .datasource(CS_DATASOURCE)
        .description('预测下限/上限 = 预测 ± 2 倍标准差（过去各周的离散度加上随机到达的 Poisson 方差）；实际流入量在时段结束后显示。')
        // The band: the upper bound's area filled down to the lower bound; the bounds dashed and thin.
        .overrideByName('forecast_upper', [
          { id: 'custom.fillBelowTo', value: '预测下限' },
          { id: 'custom.lineStyle', value: { fill: 'dash', dash: [4, 4] } },
          { id: 'color', value: { mode: 'fixed', fixedColor: 'blue' } },
        ])
        .overrideByName('forecast_lower', [
          { id: 'custom.lineStyle', value: { fill: 'dash', dash: [4, 4] } },
          { id: 'custom.fillOpacity', value: 0 },
          { id: 'color', value: { mode: 'fixed', fixedColor: 'blue' } },
        ])
        .overrideByName('forecast', [{ id: 'color', value: { mode: 'fixed', fixedColor: 'blue' } }, { id: 'custom.fillOpacity', value: 0 }])
        .overrideByName('actual', [
          { id: 'color', value: { mode: 'fixed', fixedColor: 'orange' } },
          { id: 'custom.lineWidth', value: 2 },
          { id: 'custom.fillOpacity', value: 0 },
        ]),
    )
    .withPanel(
      statPanel('回测误差 (近14天 WAPE)', CsQueryBuilder.report(report, ['backtest_wape'], G), {
        unit: 'percentunit',
        w: 8,
        h: 9,
      }).description(findReport(report)!.metrics.find((m) => m.id === 'backtest_wape')!.definition),
    )
    .withPanel(
      graphPanel('需要人数 (每30分钟)', [CsQueryBuilder.report(report, ['slot_start', 'agents_required'], G)], { w: 16, h: 7, min: 0 })
        .datasource(CS_DATASOURCE)
        .drawStyle(common.GraphDrawStyle.Bars)
        .fillOpacity(60),
    )
    .withPanel(
      graphPanel('预测误差 (实际 − 预测)', [CsQueryBuilder.report(report, ['slot_start', 'forecast_error'], G)], { w: 8, h: 7 })
        .datasource(CS_DATASOURCE)
        .drawStyle(common.GraphDrawStyle.Bars),
    );
  b.withRow(row(def.name)).withPanel(reportTable(report, { h: 14 }));
  return { folder: '报表', uid: UID.reportStaffing, dashboard: finish(b.build()) };
}

export function reportDashboards(): GeneratedDashboard[] {
  return [overview(), online(), workbench(), tickets(), sessions(), sessionDetail(), staffing()];
}
