/** The simulated contact center's words: group names, categories, names, regions, phrases, the daily curve. */

/** Skill groups in order of size; `share` is the part of the traffic and of the staff each one gets. */
export const GROUP_PROFILES = [
  { name: '售前咨询', share: 30, top: ['售前', '账户'], overflowTo: 1, patience: 1 },
  { name: '售后服务', share: 28, top: ['售后', '物流'], overflowTo: 0, patience: 1 },
  { name: '投诉处理', share: 10, top: ['投诉'], overflowTo: 1, patience: 1.3 },
  { name: 'VIP专线', share: 8, top: ['售前', '售后', '账户'], overflowTo: 0, patience: 0.7 },
  { name: '物流查询', share: 12, top: ['物流'], overflowTo: 1, patience: 1 },
  { name: '会员服务', share: 8, top: ['账户'], overflowTo: 0, patience: 1 },
  { name: '技术支持', share: 6, top: ['售后', '账户'], overflowTo: 1, patience: 1.2 },
  { name: '退换货专线', share: 8, top: ['售后'], overflowTo: 1, patience: 1 },
  { name: '大客户服务', share: 4, top: ['售前'], overflowTo: 3, patience: 0.8 },
  { name: '海外购咨询', share: 4, top: ['售前', '物流'], overflowTo: 0, patience: 1 },
] as const;

/** Three-level category tree of the 服务小记. */
export const CATEGORIES: Record<string, Record<string, string[]>> = {
  售前: {
    商品咨询: ['规格参数', '库存到货', '价格咨询'],
    活动咨询: ['优惠券', '满减活动', '预售定金'],
    下单支付: ['支付方式', '下单失败', '发票开具'],
  },
  售后: {
    退换货: ['退货申请', '换货申请', '退款进度'],
    质量问题: ['商品破损', '功能故障', '少件错件'],
    安装维修: ['预约安装', '保修政策'],
  },
  物流: {
    物流查询: ['物流进度', '签收异常'],
    配送问题: ['配送延迟', '修改地址', '指定时间配送'],
  },
  投诉: {
    服务投诉: ['态度问题', '响应太慢'],
    商品投诉: ['质量投诉', '虚假宣传'],
    物流投诉: ['快递员投诉', '超时未送达'],
  },
  账户: {
    账号安全: ['密码找回', '账号冻结', '换绑手机'],
    会员权益: ['积分查询', '等级权益', '会员续费'],
  },
};

/** Ticket types: processing SLA in hours, the category tops that raise them. */
export const TICKET_TYPES = [
  { type: '退款', slaHours: 48, tops: ['售后'] },
  { type: '换货', slaHours: 72, tops: ['售后'] },
  { type: '投诉', slaHours: 24, tops: ['投诉'] },
  { type: '发票', slaHours: 72, tops: ['售前'] },
  { type: '物流异常', slaHours: 24, tops: ['物流'] },
  { type: '账号问题', slaHours: 12, tops: ['账户'] },
] as const;

export const SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢'.split(
  '',
);
export const GIVEN = '伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红玲飞鹏浩宇欣然子涵梓萱雨轩思琪晨阳佳怡俊杰'.split('');

/** 归属地 with rough weights. */
export const REGIONS: [string, number][] = [
  ['广东深圳', 9],
  ['广东广州', 8],
  ['上海', 9],
  ['北京', 8],
  ['浙江杭州', 7],
  ['江苏南京', 5],
  ['江苏苏州', 4],
  ['四川成都', 6],
  ['湖北武汉', 5],
  ['重庆', 4],
  ['陕西西安', 4],
  ['湖南长沙', 4],
  ['河南郑州', 4],
  ['山东济南', 3],
  ['山东青岛', 3],
  ['福建厦门', 3],
  ['天津', 3],
  ['辽宁沈阳', 2],
  ['安徽合肥', 3],
  ['云南昆明', 2],
  ['黑龙江哈尔滨', 2],
  ['新疆乌鲁木齐', 1],
  ['海外', 1],
];

/**
 * Relative arrival rate at each local hour (peak = 1.3): quiet at night,
 * a late-morning peak and an evening peak, as e-commerce chat traffic goes.
 */
export const HOURLY_CURVE = [
  0.22, 0.13, 0.08, 0.06, 0.06, 0.08, 0.15, 0.35, 0.7, 1.0, 1.2, 1.3, 1.05, 0.95, 1.05, 1.1, 1.05, 0.95, 0.9, 1.05, 1.25, 1.3, 1.0, 0.55,
];

/** Human service hours (local): requests for a human outside them are rejected as off_hours. */
export const SERVICE_OPEN_HOUR = 8;
export const SERVICE_CLOSE_HOUR = 23;

/** Shifts (local hours): start, end, share of the staff. */
export const SHIFTS = [
  { name: '早班', start: 8, end: 17, share: 40 },
  { name: '中班', start: 10, end: 19, share: 30 },
  { name: '晚班', start: 14, end: 23, share: 30 },
] as const;

/**
 * The 24-hour group (夜间热线): a few agents of its own on three eight-hour shifts that cover the whole
 * day, taking a small steady line of its own (and never the day groups' traffic), so that 监控 moves at
 * any hour. Agents are given the shifts in this order, round: with 4, two on 夜班, one each on 白班 and 晚班.
 */
export const NIGHT_GROUP = { id: 'night', name: '夜间热线', top: ['售后', '物流', '账户'], patience: 1.2 } as const;
export const NIGHT_SHIFTS = [
  { name: '夜班', start: 0, end: 8, share: 0 },
  { name: '晚班', start: 16, end: 24, share: 0 },
  { name: '白班', start: 8, end: 16, share: 0 },
] as const;
/** Visitors per hour and night agent on the 夜间热线 line, day and night alike. */
export const NIGHT_STARTS_PER_AGENT_HOUR = 3;
/** Night agents of a default run (DEFAULT_OPTIONS, `npm start`, `cs-exporter simulate`). */
export const DEFAULT_NIGHT_AGENTS = 4;

export const USER_OPENERS = [
  '你好，在吗',
  '我想问一下这个商品什么时候发货',
  '订单一直没有物流信息',
  '怎么申请退货',
  '优惠券为什么用不了',
  '收到的东西坏了',
  '我要投诉',
  '发票怎么开',
  '账号登录不上去了',
  '积分怎么兑换',
  '能不能改一下收货地址',
  '这个有没有现货',
];
export const USER_LINES = [
  '好的',
  '订单号发你了',
  '那要多久',
  '可以快一点吗',
  '明白了',
  '还有一个问题',
  '照片已经上传了',
  '就是这个订单',
  '我等了很久了',
  '那怎么办',
  '谢谢',
  '嗯嗯',
];
export const AGENT_LINES = [
  '您好，请问有什么可以帮您？',
  '麻烦提供一下订单号，我帮您查询',
  '已经为您查到了，请稍等',
  '非常抱歉给您带来不便',
  '已为您登记，会尽快处理',
  '这边帮您申请了加急',
  '预计1-3个工作日内处理完成',
  '请问还有其他可以帮您的吗？',
  '感谢您的耐心等待',
  '已经为您提交，请留意短信通知',
];
export const ROBOT_LINES = [
  '您好，我是智能助手小智，请问有什么可以帮您？',
  '您可以点击下方常见问题快速查询',
  '正在为您查询，请稍候',
  '如需人工服务，请回复“转人工”',
];
export const SUMMARY_STATES = [
  ['已解决', 72],
  ['待跟进', 14],
  ['未解决', 6],
  ['已转工单', 8],
] as const;
export const SUMMARY_REMARKS = ['客户要求尽快处理', '已告知活动规则', '已安抚客户情绪', '需回访确认', '客户对处理结果满意', '已补发优惠券'];
export const OFFLINE_REMARKS_MIDDAY = ['网络异常，重新登录', '临时外出', '系统卡顿重启'];
export const CUSTOM_LABELS = ['质检复盘', '案例学习', '数据整理'];
export const PLATFORMS = { chat: '在线客服工作台', ticket: '工单系统', call: '呼叫中心' } as const;

