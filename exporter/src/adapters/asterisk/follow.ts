/**
 * Follow mode: reads the queue_log from its checkpoint, follows it as it grows (fs.watch on its
 * folder, and a poll every POLL_MS where watching is not to be trusted, e.g. NFS), survives
 * rotation (a new inode or a truncation: the old file is read to its end, then the new one from 0)
 * and restarts. The checkpoint (file identity, byte offset, hash of the line before it) lives in
 * Postgres (adapter_checkpoints) and moves only after ingest acknowledged every line before it:
 * a line is never lost, and one read twice after a crash maps to the same event ids (duplicates).
 */
import { watch, type FSWatcher } from 'node:fs';
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Logger } from 'pino';
import type { AppContext } from '../../http/app.js';
import { DatabaseUnavailableError } from '../../db/errors.js';
import { OverloadedError } from '../../ingest/submit.js';
import { QueueLogMapper, type AsteriskMap } from './mapper.js';
import { ADAPTER, BATCH_EVENTS, batches, lineHash, mapLine, splitLines, type MappedLine } from './lines.js';

export const POLL_MS = 250;
const CHUNK = 1 << 20;
/** After a restart the per-call state is rebuilt from at most this much of the file before the checkpoint. */
export const LOOK_BACK_BYTES = 64 << 20;

export interface Position {
  dev: number;
  ino: number;
  offset: number;
  /** Hash of the line that ends at `offset` (null at 0): a file rewritten in place is read again from 0. */
  lineHash: string | null;
}

export async function loadCheckpoint(ctx: AppContext, tenant: string, source: string): Promise<Position | null> {
  const r = await ctx.pool.query<{ position: Position }>(
    'SELECT position FROM adapter_checkpoints WHERE adapter = $1 AND tenant = $2 AND source = $3',
    [ADAPTER, tenant, source],
  );
  return r.rows[0]?.position ?? null;
}

async function saveCheckpoint(ctx: AppContext, tenant: string, source: string, p: Position): Promise<void> {
  await ctx.pool.query(
    `INSERT INTO adapter_checkpoints (adapter, tenant, source, position) VALUES ($1, $2, $3, $4)
     ON CONFLICT (adapter, tenant, source) DO UPDATE SET position = EXCLUDED.position, updated_at = now()`,
    [ADAPTER, tenant, source, JSON.stringify(p)],
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class QueueLogFollower {
  private fh: FileHandle | null = null;
  private dev = 0;
  private ino = 0;
  /** Acknowledged and checkpointed: everything before it is stored. */
  private offset = 0;
  private lastHash: string | null = null;
  /** Next byte to read; `pending` holds what lies between `offset` and it. */
  private readPos = 0;
  private pending: Buffer = Buffer.alloc(0);
  private mapper: QueueLogMapper;
  private stopping = false;
  private loop: Promise<void> | null = null;
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private wakeUp: (() => void) | null = null;
  private readonly log: Logger;

  constructor(
    private readonly ctx: AppContext,
    private readonly path: string,
    private readonly tenant: string,
    private readonly map: AsteriskMap,
  ) {
    this.mapper = new QueueLogMapper(map);
    this.log = ctx.log.child({ adapter: ADAPTER, file: path });
  }

  async start(): Promise<void> {
    const cp = await loadCheckpoint(this.ctx, this.tenant, this.path);
    this.loop = this.run(cp);
    try {
      this.watcher = watch(dirname(this.path), () => this.wake());
      this.watcher.on('error', () => {});
    } catch {
      // Polling alone then.
    }
    this.timer = setInterval(() => this.wake(), POLL_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.watcher?.close();
    if (this.timer) clearInterval(this.timer);
    this.wake();
    await this.loop;
    await this.fh?.close().catch(() => {});
    this.fh = null;
  }

  private wake(): void {
    const w = this.wakeUp;
    this.wakeUp = null;
    w?.();
  }

  private idle(): Promise<void> {
    return new Promise((r) => {
      this.wakeUp = r;
      setTimeout(r, POLL_MS * 4).unref();
    });
  }

  private async run(cp: Position | null): Promise<void> {
    try {
      await this.resume(cp);
    } catch (err) {
      this.log.error(
        { err },
        'asterisk queue_log: resuming from the checkpoint failed; reading the file from its start (events already stored count as duplicates)',
      );
    }
    while (!this.stopping) {
      try {
        if (!this.fh) await this.openCurrent(0);
        if (this.fh) {
          await this.pump(false);
          await this.followRotation();
        }
      } catch (err) {
        if (this.stopping) break;
        this.log.error({ err }, 'asterisk queue_log: reading failed; retrying');
        await sleep(1_000);
      }
      if (!this.stopping) await this.idle();
    }
  }

  /** Opens the file now at `path`; false when there is none yet. */
  private async openCurrent(at: number): Promise<boolean> {
    let fh: FileHandle;
    try {
      fh = await open(this.path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
    const st = await fh.stat();
    await this.fh?.close().catch(() => {});
    this.fh = fh;
    this.dev = st.dev;
    this.ino = st.ino;
    this.offset = this.readPos = at;
    this.pending = Buffer.alloc(0);
    if (at === 0) this.lastHash = null;
    return true;
  }

  /**
   * Back to where the checkpoint says. The same file: rebuild the per-call state from the lines
   * before the offset, go on from there. Rotated while we were down: find the old file beside the
   * new one by its inode, finish it, then the new file from 0.
   */
  private async resume(cp: Position | null): Promise<void> {
    if (!cp) return;
    const st = await stat(this.path).catch(() => null);
    if (st && st.ino === cp.ino && st.dev === cp.dev && st.size >= cp.offset) {
      if (await this.replay(this.path, cp)) {
        await this.openCurrent(cp.offset);
        this.lastHash = cp.lineHash;
        this.log.info({ offset: cp.offset }, 'asterisk queue_log: resumed at the checkpoint');
      }
      return;
    }
    const old = await this.findRotated(cp);
    if (old && (await this.replay(old, cp))) {
      this.log.info({ rotated: old, offset: cp.offset }, 'asterisk queue_log: rotated while stopped; finishing the old file first');
      const fh = await open(old, 'r');
      this.fh = fh;
      this.dev = cp.dev;
      this.ino = cp.ino;
      this.offset = this.readPos = cp.offset;
      this.lastHash = cp.lineHash;
      await this.pump(true);
      await fh.close();
      this.fh = null;
    }
  }

  private async findRotated(cp: Position): Promise<string | null> {
    const dir = dirname(this.path);
    const base = basename(this.path);
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (!name.startsWith(base) || name === base) continue;
      const st = await stat(join(dir, name)).catch(() => null);
      if (st && st.ino === cp.ino && st.dev === cp.dev && st.size >= cp.offset) return join(dir, name);
    }
    return null;
  }

  /** Feeds the lines before the checkpoint to the mapper only; false when the line before it is not the one checkpointed. */
  private async replay(file: string, cp: Position): Promise<boolean> {
    const fh = await open(file, 'r');
    try {
      const from = Math.max(0, cp.offset - LOOK_BACK_BYTES);
      let pos = from;
      let rest = Buffer.alloc(0);
      let last: string | null = null;
      let first = from > 0;
      const buf = Buffer.alloc(CHUNK);
      while (pos < cp.offset) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, cp.offset - pos), pos);
        if (bytesRead === 0) break;
        const { lines, rest: r } = splitLines(Buffer.concat([rest, buf.subarray(0, bytesRead)]), pos - rest.length);
        pos += bytesRead;
        rest = Buffer.from(r);
        for (const l of lines) {
          // A look-back that starts mid-line skips that partial line.
          if (first) {
            first = false;
            continue;
          }
          mapLine(this.mapper, l);
          last = l.text;
        }
      }
      const ok = cp.offset === 0 || (last !== null && lineHash(last) === cp.lineHash);
      // The replayed lines would otherwise pass for repeats when the file is read again from 0.
      if (!ok) this.mapper = new QueueLogMapper(this.map);
      if (!ok)
        this.log.warn(
          { offset: cp.offset },
          'asterisk queue_log: the file no longer holds the checkpointed line; reading it from its start',
        );
      return ok;
    } finally {
      await fh.close();
    }
  }

  /** Reads to the end of the open file, submitting as it goes. `final`: the file will not grow (rotated away), so a last line without newline counts. */
  private async pump(final: boolean): Promise<void> {
    const buf = Buffer.alloc(CHUNK);
    while (!this.stopping && this.fh) {
      const { bytesRead } = await this.fh.read(buf, 0, CHUNK, this.readPos);
      if (bytesRead === 0) break;
      const data = Buffer.concat([this.pending, buf.subarray(0, bytesRead)]);
      const { lines, rest } = splitLines(data, this.readPos - this.pending.length);
      this.readPos += bytesRead;
      this.pending = Buffer.from(rest);
      await this.feed(lines);
    }
    if (final && this.pending.length > 0 && !this.stopping) {
      const text = this.pending.toString('utf8');
      await this.feed([{ text, end: this.readPos }]);
      this.pending = Buffer.alloc(0);
    }
  }

  /** Rotation by rename (a new inode at the path) or by copytruncate (the file shrank). */
  private async followRotation(): Promise<void> {
    const st = await stat(this.path).catch(() => null);
    if (!st) return; // moved away, not yet recreated: keep reading the old one
    if (st.ino !== this.ino || st.dev !== this.dev) {
      // logrotate `create` makes the new file right after the rename, but Asterisk writes the old one
      // until its logger reopens (postrotate `logger reload`): switch once the new file has a line.
      if (st.size === 0) return;
      await this.pump(true);
      if (this.stopping) return;
      this.log.info('asterisk queue_log: rotated; reading the new file from its start');
      await this.openCurrent(0);
      await this.pump(false);
    } else if (st.size < this.readPos) {
      this.log.info('asterisk queue_log: truncated; reading it again from its start');
      await this.openCurrent(0);
      await this.pump(false);
    }
  }

  private async feed(raw: { text: string; end: number }[]): Promise<void> {
    const mapped = raw.map((l) => mapLine(this.mapper, l));
    // Half the in-flight budget at most: a batch larger than the budget would be refused for ever.
    const max = Math.max(1, Math.min(BATCH_EVENTS, Math.floor(this.ctx.config.ingestMaxEvents / 2)));
    for (const batch of batches(mapped, this.ctx.config.timezone, max)) {
      if (this.stopping) return;
      const refused = await this.submit(batch);
      // Counted once ingest has them, so /metrics never runs ahead of what is stored.
      for (const m of batch) if (!refused.has(m)) this.count(m);
      const last = batch[batch.length - 1];
      this.offset = last.end;
      this.lastHash = lineHash(last.raw);
      await this.checkpoint();
    }
  }

  private count(m: MappedLine): void {
    if (m.outcome === 'blank') return;
    if (m.outcome === 'unknown' || m.outcome === 'invalid') this.ctx.adapters.bad(this.log, ADAPTER, m.outcome, m.why ?? m.outcome, m.raw);
    else this.ctx.adapters.count(ADAPTER, m.outcome);
  }

  /** Until ingest acknowledges: on 429 and 503 it waits as told and sends the same events again. */
  /** Returns the lines ingest refused an event of (counted invalid here). */
  private async submit(batch: MappedLine[]): Promise<Set<MappedLine>> {
    const refused = new Set<MappedLine>();
    const items = batch.flatMap((l) => l.events.map((e) => ({ value: e, line: l })));
    if (items.length === 0) return refused;
    for (;;) {
      try {
        const answer = await this.ctx.ingest.submit(
          items.map((i) => ({ value: i.value })),
          { tenant: this.tenant },
        );
        for (const r of answer.rejected) {
          const line = items[r.index].line;
          if (refused.has(line)) continue;
          refused.add(line);
          this.ctx.adapters.bad(this.log, ADAPTER, 'invalid', `ingest rejected an event of this line: ${r.error}`, line.raw);
        }
        return refused;
      } catch (err) {
        if (this.stopping) throw err;
        if (err instanceof OverloadedError) await sleep(1_000);
        else if (err instanceof DatabaseUnavailableError) await sleep(Math.min(err.retryAfterSeconds, 5) * 1_000);
        else {
          this.log.error({ err }, 'asterisk queue_log: ingest failed; retrying');
          await sleep(1_000);
        }
      }
    }
  }

  private async checkpoint(): Promise<void> {
    const p: Position = { dev: this.dev, ino: this.ino, offset: this.offset, lineHash: this.lastHash };
    for (;;) {
      try {
        await saveCheckpoint(this.ctx, this.tenant, this.path, p);
        return;
      } catch (err) {
        // The events are stored; a checkpoint lost to a crash only means they are read again (duplicates).
        if (this.stopping) return;
        this.log.warn({ err }, 'asterisk queue_log: saving the checkpoint failed; retrying');
        await sleep(1_000);
      }
    }
  }
}
