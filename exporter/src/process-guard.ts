/**
 * A death must say why. Without these handlers an uncaught exception or an unhandled rejection ends
 * the process with Node's own stack trace on stderr only, which a service manager (or the bench,
 * which keeps stdout as the log) may not keep: the exporter once died under load with nothing in
 * its log. Now the cause goes to the log (stdout, synchronously) and to stderr, and the exit code
 * says it was a crash (70, EX_SOFTWARE), not a clean stop.
 */
import type { Logger } from 'pino';

export const CRASH_EXIT_CODE = 70;

export function installCrashHandlers(log: Logger): void {
  let dying = false;
  const die = (kind: string, err: unknown) => {
    // A second fault while dying must not loop or hide the first.
    if (dying) return;
    dying = true;
    const mem = process.memoryUsage();
    const memory = { rssMiB: Math.round(mem.rss / 1048576), heapUsedMiB: Math.round(mem.heapUsed / 1048576) };
    try {
      log.fatal({ err, memory }, `exporter crashed: ${kind}; exiting with ${CRASH_EXIT_CODE}`);
    } catch {
      // The logger itself may be what failed: stderr below still says it.
    }
    process.stderr.write(`cs-exporter crashed (${kind}): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(CRASH_EXIT_CODE);
  };
  process.on('uncaughtException', (err, origin) =>
    die(origin === 'unhandledRejection' ? 'unhandled rejection' : 'uncaught exception', err),
  );
  process.on('unhandledRejection', (reason) => die('unhandled rejection', reason));
  // Any other non-zero exit (process.exit elsewhere) leaves one line too; 'exit' runs synchronously only.
  process.on('exit', (code) => {
    if (code !== 0 && !dying) log.error({ code }, 'exporter exiting with a non-zero code');
  });
}
