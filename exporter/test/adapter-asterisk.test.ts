/**
 * The Asterisk queue_log mapper, line by line: each app_queue event (data fields as apps/app_queue.c
 * writes them) becomes the contract events it means, judged by the one session model
 * (src/session/model.ts) the reports and 监控 use; ids come from the line's content; unknown and
 * broken lines are reported, never fatal; the per-call state stays bounded.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { QueueLogMapper, checkMap, MAX_CALLS, type Ev } from '../src/adapters/asterisk/mapper.js';
import { parseCsv, parseLine, timeColumn } from '../src/adapters/asterisk/queue-log.js';
import { deriveSession, type SessionEvent } from '../src/session/model.js';

/** Maps lines (`|`-separated, time first) with one mapper; returns every event and each line's outcome. */
function run(lines: string[], m = new QueueLogMapper()): { events: Ev[]; outcomes: string[] } {
  const events: Ev[] = [];
  const outcomes: string[] = [];
  for (const raw of lines) {
    const p = parseLine(raw);
    if (p.ok === 'blank') continue;
    if (p.ok === false) {
      outcomes.push('invalid');
      continue;
    }
    const r = m.map1(p.line);
    outcomes.push(r.outcome);
    events.push(...r.events);
  }
  return { events, outcomes };
}

const session = (events: Ev[], id: string) =>
  deriveSession(
    events.filter((e) => e.sessionId === id).map((e, seq) => ({ ...(e as unknown as SessionEvent), type: e.type, timeMs: e.time, seq })),
  );
const T = 1_763_600_000; // 2025-11-20T00:53:20Z

describe('Asterisk queue_log mapper', () => {
  it('When a caller times out of one queue and the dialplan sends it into another, then that is an overflow and the first stay a 转人工失败', () => {
    const { events, outcomes } = run([
      `${T}|c1|sales|NONE|ENTERQUEUE||+8613800000001|1`,
      `${T + 300}|c1|sales|NONE|EXITWITHTIMEOUT|1|1|300`,
      `${T + 300}|c1|support|NONE|ENTERQUEUE||+8613800000001|1`,
      `${T + 310}|c1|support|PJSIP/1001|CONNECT|10|c1.9|3`,
      `${T + 400}|c1|support|PJSIP/1001|COMPLETECALLER|10|90|1`,
    ]);
    assert.deepEqual(outcomes, ['mapped', 'mapped', 'mapped', 'mapped', 'mapped']);
    const s = session(events, 'c1');
    assert.equal(s.userId, '+8613800000001');
    assert.deepEqual(
      s.legs.map((l) => [l.groupId, l.via, l.outcome, l.agentId]),
      [
        ['sales', 'direct', 'rejected', null],
        ['support', 'overflow', 'ended', '1001'],
      ],
    );
    assert.deepEqual(
      s.rejects.map((r) => r.reason),
      ['busy'],
    );
    // The overflow's entry is the same second as the exit: it is placed 1 ms after the reject, which would otherwise sort after it and end the new stay.
    assert.equal(s.legs[1].queuedAtMs, (T + 300) * 1000 + 1);
    assert.equal(s.legs[1].answeredAtMs! - s.legs[1].queuedAtMs, 9_999);
    assert.equal(s.ended, true);
    assert.equal(s.legs[s.credited!].groupId, 'support');
  });

  it('When an agent transfers the caller (blind or attended) into another queue, then the part ends by a manual transfer and the next stay enters via transfer', () => {
    const { events } = run([
      `${T}|c2|sales|NONE|ENTERQUEUE||+8613800000002|1`,
      `${T + 5}|c2|sales|PJSIP/1001|CONNECT|5|c2.9|2`,
      `${T + 65}|c2|sales|PJSIP/1001|BLINDTRANSFER|8002|from-internal|5|60|1`,
      `${T + 65}|c2|support|NONE|ENTERQUEUE||+8613800000002|1`,
      `${T + 70}|c2|support|PJSIP/1002|CONNECT|5|c2.10|2`,
      `${T + 100}|c2|support|PJSIP/1002|ATTENDEDTRANSFER|BRIDGE|c2.br|5|30|1`,
      `${T + 100}|c2|vip|NONE|ENTERQUEUE||+8613800000002|1`,
      `${T + 102}|c2|vip|Agent/1003|CONNECT|2|c2.11|1`,
      `${T + 200}|c2|vip|Agent/1003|COMPLETEAGENT|2|98|1`,
    ]);
    const s = session(events, 'c2');
    assert.deepEqual(
      s.legs.map((l) => [l.groupId, l.via, l.outcome, l.agentId, l.endedBy]),
      [
        ['sales', 'direct', 'transferred', '1001', 'manual'],
        ['support', 'transfer', 'transferred', '1002', 'manual'],
        ['vip', 'transfer', 'ended', '1003', 'end'],
      ],
    );
    assert.equal(s.legs[s.credited!].agentId, '1003');
  });

  it('When callers hang up, press a key, or find no member, then the stay is abandoned or rejected (no_agent), and only a hang-up ends the session', () => {
    const { events } = run([
      `${T}|a|q|NONE|ENTERQUEUE||100|1`,
      `${T + 30}|a|q|NONE|ABANDON|1|1|30`,
      `${T}|k|q|NONE|ENTERQUEUE||101|1`,
      `${T + 20}|k|q|NONE|EXITWITHKEY|5|1|1|20`,
      `${T}|e|q|NONE|ENTERQUEUE||102|1`,
      `${T + 1}|e|q|NONE|EXITEMPTY|1|1|1`,
    ]);
    assert.deepEqual(
      ['a', 'k', 'e'].map((id) => {
        const s = session(events, id);
        return [s.legs[0].outcome, s.rejects.map((r) => r.reason).join(), s.ended];
      }),
      [
        ['abandoned', '', true], // hung up: gone
        ['abandoned', '', false], // pressed a key: the dialplan goes on with the call
        ['rejected', 'no_agent', false],
      ],
    );
  });

  it('When the log starts mid-call, then CONNECT and COMPLETE* place the queue entry and answer from their hold and talk times', () => {
    const { events } = run([`${T + 406}|m|q|Sara|COMPLETECALLER|10|400|1`]);
    const s = session(events, 'm');
    assert.deepEqual(
      [s.legs[0].queuedAtMs / 1000, s.legs[0].answeredAtMs! / 1000, s.endedAtMs! / 1000, s.legs[0].agentId],
      [T - 4, T + 6, T + 406, 'Sara'],
    );
  });

  it('When lines repeat, come again in another file position, or as the CSV of the realtime table, then their event ids are the same', () => {
    const lines = [`${T}|r|q|NONE|ENTERQUEUE||200|1`, `${T + 3}|r|q|PJSIP/1001|CONNECT|3|r.9|1`];
    const a = run([...lines, lines[0]]);
    assert.deepEqual(a.outcomes, ['mapped', 'mapped', 'ignored']);
    const b = run([`${T - 50}|other|q|NONE|ENTERQUEUE||201|1`, ...lines]);
    const ids = (x: Ev[]) => x.filter((e) => e.sessionId === 'r').map((e) => e.id);
    assert.deepEqual(ids(b.events), ids(a.events));
    // The same two lines as rows of the realtime table, time in the PBX's wall clock (Asia/Shanghai, UTC+8).
    const local = (t: number) => new Date((t + 8 * 3600) * 1000).toISOString().replace('T', ' ').slice(0, 19);
    const csv = `time,callid,queuename,agent,event,data1,data2,data3,data4,data5\n${local(T)},r,q,NONE,ENTERQUEUE,,200,1,,\n"${local(T + 3)}",r,q,PJSIP/1001,CONNECT,3,r.9,1,,\n`;
    const m = new QueueLogMapper();
    const fromCsv = parseCsv(csv, 'Asia/Shanghai').flatMap(({ result }) => (result.ok === true ? m.map1(result.line).events : []));
    assert.deepEqual(ids(fromCsv), ids(a.events));
    assert.equal(timeColumn('2025-11-20T00:53:20Z', 'Asia/Shanghai'), T);
    assert.throws(() => parseCsv('when,callid\n1,2\n', 'UTC'), /missing: time, queuename, agent, event/);
  });

  it('When agents join, pause with reasons, log in and off, then their status follows through the pause table and the mapping file', () => {
    const map = checkMap({
      agents: { 'PJSIP/1001': { id: 'a1', name: '张三', workNo: '001' } },
      queues: { '600': { id: 'presales', name: '售前' } },
      pauseReasons: { Coaching: 'training' },
    });
    const { events } = run(
      [
        `${T}|NONE|600|PJSIP/1001|ADDMEMBER|`,
        `${T}|NONE|601|PJSIP/1001|ADDMEMBER|`,
        `${T + 60}|NONE|600|PJSIP/1001|PAUSE|Lunch`,
        `${T + 60}|NONE|601|PJSIP/1001|PAUSE|Lunch`,
        `${T + 120}|NONE|600|PJSIP/1001|UNPAUSE|`,
        `${T + 121}|NONE|601|PJSIP/1001|UNPAUSE|`,
        `${T + 130}|NONE|600|PJSIP/1001|PAUSE|Coaching`,
        `${T + 140}|NONE|600|PJSIP/1001|UNPAUSE|`,
        `${T + 150}|NONE|NONE|PJSIP/1001|PAUSEALL|`,
        `${T + 160}|NONE|NONE|PJSIP/1001|UNPAUSEALL|`,
        `${T + 170}|NONE|600|PJSIP/1001|PAUSE|Smoke`,
        `${T + 180}|NONE|600|PJSIP/1001|REMOVEMEMBER|`,
        `${T + 181}|NONE|601|PJSIP/1001|REMOVEMEMBER|`,
        `${T + 200}|NONE|NONE|Agent/7|AGENTLOGIN|PJSIP/1007-0001`,
        `${T + 300}|NONE|NONE|Agent/7|AGENTLOGOFF|PJSIP/1007-0001|100`,
        `${T + 400}|NONE|NONE|Agent/8|AGENTCALLBACKLOGIN|1008@from-internal`,
      ],
      new QueueLogMapper(map),
    );
    const statuses = events.filter((e) => e.type === 'agent.status').map((e) => [e.time / 1000 - T, e.agentId, e.status, e.label ?? null]);
    assert.deepEqual(statuses, [
      [0, 'a1', 'online', null],
      [60, 'a1', 'meal', null],
      [121, 'a1', 'online', null], // paused in both queues until the second UNPAUSE
      [130, 'a1', 'training', null], // the mapping file's pauseReasons
      [140, 'a1', 'online', null],
      [150, 'a1', 'break', null], // PAUSEALL carries no reason: 小休
      [160, 'a1', 'online', null],
      [170, 'a1', 'custom', 'Smoke'], // a reason nobody mapped: custom, labelled
      [180, 'a1', 'online', null], // out of the queue it was paused in, still in 601
      [181, 'a1', 'offline', null], // out of its last queue
      [200, '7', 'online', null],
      [300, '7', 'offline', null],
      [400, '8', 'online', null],
    ]);
    const upserts = events.filter((e) => e.type === 'agent.upsert' && e.agentId === 'a1').map((e) => [e.name, e.workNo, e.groups]);
    assert.deepEqual(upserts[1], ['张三', '001', ['601', 'presales']]);
    assert.deepEqual(
      events.filter((e) => e.type === 'group.upsert').map((e) => [e.groupId, e.name]),
      [['presales', '售前']],
    );
    assert.ok(events.filter((e) => e.type === 'agent.log').length === 16);
  });

  it('When a line is unknown, broken, or misses its call, then it is reported as such and the next line still maps', () => {
    const { outcomes } = run([
      `${T}|x|q|NONE|FOOBAR|1`,
      'not a queue_log line',
      `${T}|NONE|q|NONE|ENTERQUEUE||1|1`,
      `${T}|x|q|NONE|RINGNOANSWER|15000`,
      `${T}|x|q|NONE|ENTERQUEUE||1|1`,
      `${T}|NONE|NONE|NONE|CONFIGRELOAD|`,
      `${T + 1}|NONE|NONE|NONE|QUEUESTART|`,
    ]);
    // QUEUESTART: Asterisk restarted, so the call still queued is over (session.end by system).
    assert.deepEqual(outcomes, ['unknown', 'invalid', 'invalid', 'ignored', 'mapped', 'ignored', 'mapped']);
    assert.throws(() => checkMap({ pauseReasons: { Lunch: 'lunch' } }), /pauseReasons\["Lunch"\] must be a status/);
    assert.throws(() => checkMap({ queue: {} }), /unknown key "queue"/);
  });

  it('When a long log of calls is read, then the per-call state stays bounded', () => {
    const m = new QueueLogMapper();
    // 12 h of a call every second, each completed: closed calls go after 6 h of log time (swept every 10,000 lines).
    const lines: string[] = [];
    for (let i = 0; i < 12 * 3_600; i += 1) {
      const t = T + i;
      lines.push(
        `${t}|b${i}|q|NONE|ENTERQUEUE||1|1`,
        `${t + 1}|b${i}|q|PJSIP/1|CONNECT|1|x|1`,
        `${t + 30}|b${i}|q|PJSIP/1|COMPLETEAGENT|1|29|1`,
      );
    }
    run(lines, m);
    assert.ok(m.size.calls <= 6 * 3600 + 4_000 && m.size.calls < MAX_CALLS, `${m.size.calls} calls held`);
  });
});
