/** Turns a request body into raw items: a JSON object, a JSON array, or NDJSON. */

export class BodyError extends Error {}

/** One item of a body: a parsed value, or why its line could not be parsed. */
export type RawItem = { value: unknown } | { error: string };

export type BodyFormat = 'json' | 'ndjson';

export function bodyFormat(contentType: string | undefined): BodyFormat | undefined {
  const mime = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (mime === 'application/json') return 'json';
  if (mime === 'application/x-ndjson' || mime === 'application/ndjson') return 'ndjson';
  return undefined;
}

export function parseBody(body: Buffer, format: BodyFormat): RawItem[] {
  const text = body.toString('utf8');
  if (format === 'json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new BodyError(`body is not valid JSON: ${(err as Error).message}`);
    }
    if (Array.isArray(parsed)) return parsed.map((value) => ({ value }));
    if (parsed !== null && typeof parsed === 'object') return [{ value: parsed }];
    throw new BodyError('body must be one event object or an array of events');
  }
  // NDJSON: one event a line; blank lines are skipped, and a line that is not
  // JSON is rejected alone so the rest of the batch still goes in.
  const items: RawItem[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    try {
      items.push({ value: JSON.parse(line) });
    } catch (err) {
      items.push({ error: `line ${i + 1} is not valid JSON: ${(err as Error).message}` });
    }
  }
  return items;
}
