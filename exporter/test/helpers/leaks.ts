/** What no answer of the exporter may carry: internals that help an attacker and mean nothing to a user. */
import assert from 'node:assert/strict';

const LEAKS: [RegExp, string][] = [
  [/\n\s+at\s|\bat [\w.<>]+ \(|\.ts:\d+|\.js:\d+|node:internal/, 'a stack trace'],
  [/\b(?:SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|CREATE TABLE|jsonb_to_recordset|pg_advisory)\b/, 'SQL text'],
  [/\b(?:ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE)\b|\b(?:127\.0\.0\.1|localhost|\[::1\]):\d+/, 'a host, port or socket error'],
  [/invalid input syntax|violates|relation "|column "|syntax error at|out of range for type|unsupported Unicode escape|stack depth limit|postgres/i, 'a Postgres message'],
  [/internal error: |TypeError|RangeError|ReferenceError|Cannot read propert|is not a function|Invalid time value/, 'a JavaScript error'],
];

/** Fails naming the leak when `body` holds internals. */
export function assertNoLeak(body: string, what: string): void {
  for (const [re, name] of LEAKS) assert.doesNotMatch(body, re, `${what} answered ${name}: ${body.slice(0, 300)}`);
}
