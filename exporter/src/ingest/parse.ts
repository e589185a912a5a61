/** Turns a request body into raw items: a JSON object, a JSON array, or NDJSON. */

/** A body that cannot be taken at all: 400, or 413 when it holds too many events. */
export class BodyError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 413 = 400,
  ) {
    super(message);
  }
}

/**
 * Events one request may carry. Past it the body is refused whole (413) before any event is
 * parsed further or validated: 10 MiB of tiny items would otherwise cost millions of objects and
 * error messages. The writer's transactions hold about 5,000 events (whole requests, never split), so a
 * producer gains nothing by sending more at once.
 */
export const MAX_EVENTS_PER_REQUEST = 50_000;

const tooMany = (n: string) =>
  new BodyError(`body holds ${n} events; at most ${MAX_EVENTS_PER_REQUEST.toLocaleString('en-US')} are taken per request: send smaller batches`, 413);

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
    if (Array.isArray(parsed)) {
      if (parsed.length > MAX_EVENTS_PER_REQUEST) throw tooMany(parsed.length.toLocaleString('en-US'));
      return parsed.map((value) => ({ value }));
    }
    if (parsed !== null && typeof parsed === 'object') return [{ value: parsed }];
    throw new BodyError('body must be one event object or an array of events');
  }
  // NDJSON: one event a line; blank lines are skipped, and a line that is not
  // JSON is rejected alone so the rest of the batch still goes in.
  const items: RawItem[] = [];
  // Line by line with indexOf, not split: 5M garbage lines must not become 5M strings at once.
  for (let start = 0, lineNo = 1; start < text.length; lineNo++) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end).trim();
    start = end + 1;
    if (line === '') continue;
    if (items.length === MAX_EVENTS_PER_REQUEST) throw tooMany('more than');
    try {
      items.push({ value: JSON.parse(line) });
    } catch (err) {
      items.push({ error: `line ${lineNo} is not valid JSON: ${(err as Error).message.slice(0, 200)}` });
    }
  }
  return items;
}
