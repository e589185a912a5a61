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

/** A minimal RFC 4180 reader (quoted fields, doubled quotes, CRLF). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') ((field += '"'), i++);
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') (row.push(field), (field = ''));
    else if (c === '\n') (row.push(field), rows.push(row), (row = []), (field = ''));
    else if (c !== '\r') field += c;
  }
  if (field !== '' || row.length) (row.push(field), rows.push(row));
  return rows;
}
