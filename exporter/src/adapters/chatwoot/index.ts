/**
 * The Chatwoot adapter: the account-webhook endpoint (on when CS_CHATWOOT_WEBHOOK_TOKENS is set)
 * and the REST poller for agents, teams and presence (on when CS_CHATWOOT_URL,
 * CS_CHATWOOT_ACCOUNT_ID and CS_CHATWOOT_API_TOKEN are set). See docs/adapters/chatwoot.md.
 */
import type { Component, ComponentFactory } from '../../component.js';
import type { Config } from '../../config.js';
import { ChatwootPoller } from './poller.js';
import { chatwootWebhookRoutes } from './webhook.js';

export const chatwootComponent: ComponentFactory = (config: Config): Component => {
  const tokens = config.chatwootWebhookTokens ?? new Map<string, string>();
  let poller: ChatwootPoller | undefined;
  return {
    name: 'chatwoot',
    open:
      tokens.size > 0
        ? chatwootWebhookRoutes({
            tokens,
            secrets: config.chatwootWebhookSecrets ?? new Map(),
            defaultGroup: config.chatwootDefaultGroup ?? 'chatwoot',
          })
        : undefined,
    start(ctx) {
      const p = config.chatwootPoller;
      if (!p) return;
      poller = new ChatwootPoller(p, ctx, ctx.log.child({ adapter: 'chatwoot_api' }));
      poller.start();
      ctx.log.info({ url: p.url, account: p.accountId, every: p.pollSeconds }, 'chatwoot poller on');
    },
    async stop() {
      await poller?.stop();
    },
  };
};

/**
 * `cs-exporter adapter chatwoot check`: reads the account once with the poller's settings and
 * prints what the poller would send, storing nothing: a set-up check for an administrator.
 */
export const chatwootCommand = {
  help: 'check    read agents, teams and presence once (CS_CHATWOOT_URL, _ACCOUNT_ID, _API_TOKEN) and print them; stores nothing',
  async run(args: string[]): Promise<void> {
    if (args[0] !== 'check') {
      console.error(`usage: cs-exporter adapter chatwoot check${args[0] === undefined ? '' : ` (unknown: "${args[0]}")`}`);
      process.exitCode = 2;
      return;
    }
    const { loadConfig } = await import('../../config.js');
    const { readChatwoot } = await import('./poller.js');
    const config = loadConfig();
    const p = config.chatwootPoller;
    const tenants = [...new Set((config.chatwootWebhookTokens ?? new Map()).values())];
    console.log(`webhook endpoint: ${tenants.length ? `on, for tenant(s) ${tenants.join(', ')}: POST /api/v1/adapters/chatwoot/<token>` : 'off (CS_CHATWOOT_WEBHOOK_TOKENS unset)'}`);
    if (!p) {
      console.error('poller: off; set CS_CHATWOOT_URL, CS_CHATWOOT_ACCOUNT_ID and CS_CHATWOOT_API_TOKEN to check it');
      process.exitCode = 1;
      return;
    }
    const problems: string[] = [];
    const { teams, agents } = await readChatwoot(p, (outcome, why) => {
      if (outcome !== 'mapped') problems.push(`${outcome}: ${why}`);
    });
    console.log(`poller: ${p.url}, account ${p.accountId}, tenant ${p.tenant}, every ${p.pollSeconds} s`);
    console.log(`teams (${teams.size}):`);
    for (const [id, name] of teams) console.log(`  cw-team-${id}\t${name}`);
    console.log(`agents (${agents.size}):`);
    for (const [id, a] of agents) console.log(`  cw-agent-${id}\t${a.name}\t${a.status}\t${a.groups.join(',') || '(no team)'}`);
    for (const x of problems) console.log(`  ${x}`);
  },
};
