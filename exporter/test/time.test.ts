import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { addDays, dayStartMs, isDay, localDay, localHour } from '../src/time.js';
import { parseRfc3339 } from '../src/ingest/validate.js';

describe('local days', () => {
  it('When an instant is past 16:00 UTC, then it is the next day in Shanghai (UTC+8)', () => {
    assert.equal(localDay(Date.parse('2026-11-20T16:00:00Z'), 'Asia/Shanghai'), '2026-11-21');
    assert.equal(localDay(Date.parse('2026-11-20T15:59:59.999Z'), 'Asia/Shanghai'), '2026-11-20');
    assert.equal(localHour(Date.parse('2026-11-20T15:59:59Z'), 'Asia/Shanghai'), 23);
  });
  it('When a zone has daylight saving, then day starts follow it', () => {
    // New York: 2026-03-08 starts at 05:00Z (EST), 2026-03-09 at 04:00Z (EDT).
    assert.equal(new Date(dayStartMs('2026-03-08', 'America/New_York')).toISOString(), '2026-03-08T05:00:00.000Z');
    assert.equal(new Date(dayStartMs('2026-03-09', 'America/New_York')).toISOString(), '2026-03-09T04:00:00.000Z');
    assert.equal(new Date(dayStartMs('2026-11-21', 'Asia/Shanghai')).toISOString(), '2026-11-20T16:00:00.000Z');
  });
  it('When days are checked and moved, then the calendar is respected', () => {
    assert.equal(isDay('2026-02-29'), false);
    assert.equal(isDay('2028-02-29'), true);
    assert.equal(addDays('2026-12-31', 1), '2027-01-01');
    assert.equal(addDays('2026-03-01', -1), '2026-02-28');
  });
  it('When RFC 3339 times are parsed, then the offset is required and honoured', () => {
    assert.equal(parseRfc3339('2026-11-20T10:00:00+08:00'), Date.parse('2026-11-20T02:00:00Z'));
    assert.equal(parseRfc3339('2026-11-20t10:00:00.250z'), Date.parse('2026-11-20T10:00:00.250Z'));
    assert.ok(Number.isNaN(parseRfc3339('2026-11-20T10:00:00')));
    assert.ok(Number.isNaN(parseRfc3339('2026-11-31T10:00:00Z')));
  });
});
