/**
 * Day starts where local midnight does not exist. Chile, Cuba and Paraguay start daylight saving
 * at 00:00 (clocks jump to 01:00), so the day begins at 01:00 local, the transition itself. The
 * expected instants are the transitions of the IANA time zone database (tzdata "southamerica"
 * and "northamerica" files: Chile's rule "Sep Sun>=2 4:00u", Cuba's "Mar Sun>=8 0:00s",
 * Paraguay's "Oct Sun>=1 0:00"), which Node's ICU carries.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { addDays, dayStartMs, localDay } from '../src/time.js';

const iso = (ms: number) => new Date(ms).toISOString();

describe('day starts from the time zone database', () => {
  const table: [tz: string, day: string, start: string][] = [
    // DST starts at 00:00: the day begins at 01:00 local, already in the new offset.
    ['America/Santiago', '2026-09-06', '2026-09-06T04:00:00.000Z'], // 01:00 -03
    ['America/Santiago', '2025-09-07', '2025-09-07T04:00:00.000Z'],
    ['America/Havana', '2026-03-08', '2026-03-08T05:00:00.000Z'], // 01:00 -04
    ['America/Asuncion', '2023-10-01', '2023-10-01T04:00:00.000Z'], // 01:00 -03
    // The days around them start at plain midnight.
    ['America/Santiago', '2026-09-05', '2026-09-05T04:00:00.000Z'], // 00:00 -04
    ['America/Santiago', '2026-09-07', '2026-09-07T03:00:00.000Z'], // 00:00 -03
    ['America/Havana', '2026-03-09', '2026-03-09T04:00:00.000Z'],
    // DST ending at 24:00 (back to 23:00 the day before): the next day starts at 00:00 of the old offset.
    ['America/Santiago', '2026-04-05', '2026-04-05T04:00:00.000Z'],
    ['Asia/Shanghai', '2026-11-23', '2026-11-22T16:00:00.000Z'],
  ];
  for (const [tz, day, start] of table) {
    it(`When the day is ${day} in ${tz}, then it starts at ${start}`, () => {
      assert.equal(iso(dayStartMs(day, tz)), start);
    });
  }

  it('When every day 2000–2030 of zones with odd transitions is taken, then its start is its first instant', () => {
    // A day's start is the instant where the local day turns from the day before to it.
    for (const tz of ['America/Santiago', 'America/Havana', 'America/Asuncion', 'America/Sao_Paulo', 'Asia/Tehran', 'Australia/Lord_Howe', 'Asia/Kathmandu']) {
      for (let day = '2000-01-01'; day < '2031-01-01'; day = addDays(day, 1)) {
        const s = dayStartMs(day, tz);
        assert.equal(localDay(s, tz), day, `${tz} ${day}: ${iso(s)} is not in the day`);
        assert.equal(localDay(s - 1, tz), addDays(day, -1), `${tz} ${day}: ${iso(s - 1)} is not in the day before`);
      }
    }
  });
});
