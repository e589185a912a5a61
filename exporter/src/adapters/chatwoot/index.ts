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
