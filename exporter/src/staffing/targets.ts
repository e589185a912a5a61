/**
 * Service-level targets per tenant and skill group (CS_SERVICE_LEVEL_TARGETS), for 需要人数 and the
 * staffing forecast. Written as comma-separated entries `[[tenant:]group=]percent/seconds`:
 * `80/20` alone sets the default; `vip=90/10` sets group vip of every tenant; `acme:vip=95/10` sets
 * it for tenant acme only. The most specific entry wins.
 */
import { DEFAULT_TARGET, type Target } from './erlang.js';

export class ServiceTargets {
  constructor(
    readonly fallback: Target = DEFAULT_TARGET,
    private readonly byGroup = new Map<string, Target>(),
    private readonly byTenantGroup = new Map<string, Target>(),
  ) {}

  /** The target of `group` in `tenant`. */
  of(tenant: string, group: string): Target {
    return this.byTenantGroup.get(`${tenant}\u0000${group}`) ?? this.byGroup.get(group) ?? this.fallback;
  }
}

const ENTRY = /^(?:(?:([^:=\s]+):)?([^:=\s]+)=)?(\d+(?:\.\d+)?)%?\/(\d+(?:\.\d+)?)s?$/;

/** Parses CS_SERVICE_LEVEL_TARGETS; throws an Error naming the bad entry. */
export function parseServiceTargets(text: string | undefined): ServiceTargets {
  let fallback = DEFAULT_TARGET;
  const byGroup = new Map<string, Target>();
  const byTenantGroup = new Map<string, Target>();
  for (const raw of (text ?? '').split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const m = ENTRY.exec(entry);
    const percent = m ? Number(m[3]) : NaN;
    const seconds = m ? Number(m[4]) : NaN;
    if (!m || !(percent > 0 && percent < 100) || !(seconds > 0 && seconds <= 3600))
      throw new Error(
        `CS_SERVICE_LEVEL_TARGETS: "${entry.slice(0, 80)}" is not [[tenant:]group=]percent/seconds with 0 < percent < 100 and 0 < seconds ≤ 3600 (e.g. 80/20, vip=90/10, acme:vip=95/10)`,
      );
    const target = { level: percent / 100, seconds };
    const [, tenant, group] = m;
    if (group === undefined) fallback = target;
    else if (tenant === undefined) byGroup.set(group, target);
    else byTenantGroup.set(`${tenant}\u0000${group}`, target);
  }
  return new ServiceTargets(fallback, byGroup, byTenantGroup);
}
