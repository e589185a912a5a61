/** Report query helpers for the report tests. */
import assert from 'node:assert/strict';

/** Floats rounded to 6 decimals, so hand-computed fractions compare equal. */
export const r6 = (v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 1e6) / 1e6 : v);

export async function queryRows(url: string, body: Record<string, unknown>): Promise<{ rows: Record<string, unknown>[]; meta: any }> {
  const res = await fetch(`${url}/api/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as any;
  assert.equal(res.status, 200, JSON.stringify(json));
  const fields = json.frames[0].fields as { name: string; values: unknown[] }[];
  const rows = (fields[0]?.values ?? []).map((_, i) => Object.fromEntries(fields.map((f) => [f.name, r6(f.values[i])])));
  return { rows, meta: json.meta };
}
