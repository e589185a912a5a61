/**
 * The platform adapters. Each is a component (see ../component.ts) that stays idle unless its
 * settings turn it on, so `npm start` runs the simulator alone; and each may add a subcommand to
 * `cs-exporter adapter` (ADAPTER_COMMANDS).
 */
import type { ComponentFactory } from '../component.js';
import { asteriskCommand, asteriskComponent } from './asterisk/index.js';
import { chatwootCommand, chatwootComponent } from './chatwoot/index.js';
import { amazonConnectComponent } from './amazon-connect/component.js';

/** Adapter components, started before the simulator. */
export const ADAPTER_COMPONENTS: ComponentFactory[] = [asteriskComponent, chatwootComponent, amazonConnectComponent];

/** `cs-exporter adapter <name> ...`: one line of help and the command, by adapter name. */
export const ADAPTER_COMMANDS: Record<string, { help: string; run(args: string[]): Promise<void> }> = {
  asterisk: asteriskCommand,
  chatwoot: chatwootCommand,
};

export async function adapterCommand(args: string[]): Promise<void> {
  const [name, ...rest] = args;
  const cmd = name === undefined ? undefined : ADAPTER_COMMANDS[name];
  if (!cmd) {
    const list = Object.entries(ADAPTER_COMMANDS).map(([n, c]) => `  cs-exporter adapter ${n} ${c.help}`);
    console.error(`${name === undefined ? 'name an adapter' : `unknown adapter "${name}"`}; adapters:\n${list.join('\n') || '  (none)'}`);
    process.exitCode = 2;
    return;
  }
  return cmd.run(rest);
}
