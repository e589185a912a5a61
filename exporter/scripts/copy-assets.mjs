// tsc compiles only TypeScript: the SQL migrations are copied beside the output.
import { cpSync, chmodSync } from 'node:fs';
cpSync(new URL('../src/migrations/', import.meta.url), new URL('../dist/migrations/', import.meta.url), { recursive: true });
chmodSync(new URL('../dist/cli.js', import.meta.url), 0o755);
