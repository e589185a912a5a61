/** The mapping file (CS_ASTERISK_MAP, --map): queue and agent names and ids, pause reasons. */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../../config.js';
import { checkMap, type AsteriskMap } from './mapper.js';

export function loadMap(file: string | undefined): AsteriskMap {
  if (!file) return {};
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`the Asterisk mapping file ${file} cannot be read: ${(err as Error).message}`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`the Asterisk mapping file ${file} is not JSON: ${(err as Error).message}`);
  }
  try {
    return checkMap(v, `the Asterisk mapping file ${file}`);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
}
