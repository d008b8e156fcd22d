// Each app's settings in force, read through a short-TTL cache like the active adapter: they change rarely,
// and every request needs them (rate limits, defaults). A change through this process applies at once
// (`forget`); other processes and isolates converge within the TTL.
import { effectiveSettings, platformDefaults, readOverrides } from '../../core/apps/settings.js';
import type { Config } from '../../core/config.js';
import { getAppSettings, listAppSettings } from '../../core/db/app-settings.js';
import type { Db } from '../../core/db/database.js';
import type { AppSettings } from '../../schema/contracts.js';

const TTL_MS = 5_000;

export class AppSettingsCache {
  readonly defaults: AppSettings;
  private readonly byApp = new Map<string, { settings: AppSettings; until: number }>();
  private origins: { set: Set<string>; until: number } | null = null;

  constructor(
    private readonly db: Db,
    config: Pick<Config, 'training' | 'limits' | 'baseModel'>,
    private readonly now: () => number,
    private readonly ttlMs = TTL_MS,
  ) {
    this.defaults = platformDefaults(config);
  }

  async of(appId: string): Promise<AppSettings> {
    const t = this.now();
    const hit = this.byApp.get(appId);
    if (hit && hit.until > t) return hit.settings;
    const stored = await getAppSettings(this.db, appId);
    const settings = effectiveSettings(this.defaults, readOverrides(stored?.settings));
    if (this.byApp.size > 10_000) this.byApp.clear();
    this.byApp.set(appId, { settings, until: t + this.ttlMs });
    return settings;
  }

  /** Every origin some app allows: a browser's preflight names no app, only its origin. */
  async anyAllowsOrigin(origin: string): Promise<boolean> {
    const t = this.now();
    if (!this.origins || this.origins.until <= t) {
      const set = new Set<string>();
      for (const row of await listAppSettings(this.db)) {
        for (const origin of readOverrides(row.settings).cors?.allowed_origins ?? []) set.add(origin);
      }
      this.origins = { set, until: t + this.ttlMs };
    }
    return this.origins.set.has(origin);
  }

  forget(appId: string): void {
    this.byApp.delete(appId);
    this.origins = null;
  }
}
