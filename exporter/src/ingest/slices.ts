/**
 * One CPU budget per turn of the event loop for the work of every ingest request (parsing bodies,
 * validating events). Each request used to run its own parse and validation in one go when its
 * body had arrived: with 128 producers, one poll phase delivered dozens of bodies and ran them all
 * back to back (seconds on a busy machine) while a `/metrics` scrape or a health check waited for
 * the next poll. Now every request's work goes through here in slices; a turn runs slices until
 * SLICE_BUDGET_MS have passed, and what is left waits for the next turn (setImmediate from within
 * the check phase runs after the next poll), so I/O is served between turns whatever the load.
 *
 * A single-event request pays one setImmediate: queued during the poll phase, its slice runs in the
 * same turn's check phase.
 */

/** Ingest work one turn of the event loop may do before I/O gets its turn again. */
export const SLICE_BUDGET_MS = 10;

interface Job {
  /** Does one slice of the work; true once all of it is done. */
  step(): boolean;
  resolve(): void;
  reject(err: unknown): void;
}

let jobs: Job[] = [];
let head = 0;
let scheduled = false;

function turn(): void {
  scheduled = false;
  const start = performance.now();
  // The oldest job runs slice after slice until done, then the next: a request's work is not
  // spread across every other request's (all would finish late); the budget only makes room for I/O.
  // At least one slice a turn, however long it takes, so work always progresses.
  do {
    const job = jobs[head];
    let done: boolean;
    try {
      done = job.step();
    } catch (err) {
      head++;
      job.reject(err);
      continue;
    }
    if (done) {
      head++;
      job.resolve();
    }
  } while (head < jobs.length && performance.now() - start < SLICE_BUDGET_MS);
  if (head >= jobs.length) {
    jobs = [];
    head = 0;
  } else {
    if (head > 1024) {
      jobs = jobs.slice(head);
      head = 0;
    }
    scheduled = true;
    setImmediate(turn);
  }
}

/**
 * Runs `step` (synchronous: one slice of a few ms at most, returning true once the work is done)
 * again and again within the shared budget; resolves once done, rejects with what a step threw.
 * Jobs are served in the order they were handed in.
 */
export function sliced(step: () => boolean): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    jobs.push({ step, resolve, reject });
    if (!scheduled) {
      scheduled = true;
      setImmediate(turn);
    }
  });
}

/** Runs `work` (synchronous, one slice) within the shared budget; resolves with its value. */
export async function slice<T>(work: () => T): Promise<T> {
  let value!: T;
  await sliced(() => {
    value = work();
    return true;
  });
  return value;
}
