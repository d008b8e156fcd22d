// Admin: the effect of personalization, measured by the app's holdout experiment (settings `experiment`): the
// like-rates of personalized and held-out generations over a period, with their intervals and difference.
import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { effectOf } from '../../../core/apps/effect.js';
import { experimentCounts } from '../../../core/db/effect.js';
import { appParams, effectQuery, effectResponse } from '../../../schema/contracts.js';
import { badRequest } from '../../http/errors.js';
import { adminSecurity, errors, json, routes } from '../../http/openapi.js';
import type { Services } from '../../http/services.js';
import { appOf } from '../../usecases/apps.js';

const DAY_MS = 86_400_000;
/** The default period: the last 30 days. */
const DEFAULT_DAYS = 30;
/** The longest period asked for. */
const MAX_DAYS = 366;

const effectRoute = createRoute({
  method: 'get',
  path: '/admin/apps/{app}/effect',
  tags: ['apps'],
  security: adminSecurity,
  summary: 'The effect of personalization: like-rates of personalized and held-out generations',
  description:
    "Of the generations in the app's holdout experiment made in [`from`, `to`) (default: the last 30 days): " +
    'per arm the generations, those rated (by their latest rating) and liked, the like-rate with a Wilson ' +
    "95 % interval, and personalized − holdout with Newcombe's hybrid score interval; a series per UTC day. " +
    'A period that is not an ISO 8601 date-time pair, is reversed or is over 366 days is a 400.',
  request: { params: appParams, query: effectQuery },
  responses: { 200: json(effectResponse, 'The effect'), ...errors(400, 401, 403, 404, 422) },
});

const dateTime = z.iso.datetime({ offset: true });

/** A period bound, or a 400 naming the field. */
function bound(field: 'from' | 'to', raw: string | undefined): Date | undefined {
  if (raw === undefined) return undefined;
  if (raw.length > 64 || !dateTime.safeParse(raw).success || Number.isNaN(Date.parse(raw))) {
    throw badRequest(`${field}: not an ISO 8601 date-time`, {
      issues: [{ path: field, message: 'an ISO 8601 date-time, e.g. 2026-03-01T00:00:00Z' }],
    });
  }
  return new Date(raw);
}

/** The period asked for, or a 400: [from, to), from before to, at most 366 days. */
export function periodOf(q: { from?: string; to?: string }, now: number): { from: Date; to: Date } {
  const to = bound('to', q.to) ?? new Date(now);
  const from = bound('from', q.from) ?? new Date(to.getTime() - DEFAULT_DAYS * DAY_MS);
  if (from.getTime() >= to.getTime()) {
    throw badRequest('from must be before to', { issues: [{ path: 'from', message: 'before to' }] });
  }
  if (to.getTime() - from.getTime() > MAX_DAYS * DAY_MS) {
    throw badRequest(`the period is over ${MAX_DAYS} days`, {
      issues: [{ path: 'from', message: `at most ${MAX_DAYS} days before to` }],
    });
  }
  return { from, to };
}

export function adminEffectRoutes(s: Services) {
  return routes().openapi(effectRoute, async (c) => {
    const app = await appOf(s, c.req.valid('param').app);
    const { from, to } = periodOf(c.req.valid('query'), s.now());
    const [rows, settings] = await Promise.all([
      experimentCounts(s.db, { appId: app.id, from, to }),
      s.settings.of(app.id),
    ]);
    const effect = effectOf(rows, from, to);
    return c.json(
      {
        app_id: app.id,
        from: from.toISOString(),
        to: to.toISOString(),
        holdout_percent: settings.experiment.holdout_percent,
        ...effect,
      },
      200,
    );
  });
}
