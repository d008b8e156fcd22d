// takeRateLimits with fake settings and a clock: what a request costs, and the refund when the key refuses.
import { describe, expect, it } from 'vitest';
import type { App } from '../../schema/tables.js';
import { toApiError } from '../http/errors.js';
import { RateLimiter } from '../http/rate-limit.js';
import type { Services } from '../http/services.js';
import { GENERATION_UNIT_TOKENS, generationUnits, takeRateLimits } from './rate-limits.js';

const app = { id: 'app_1' } as App;

function services(perMinute: number, perUser: number): Services {
  const now = () => 0;
  return {
    settings: { of: async () => ({ rate_limits: { per_minute: perMinute, per_user_per_minute: perUser } }) },
    perKey: new RateLimiter(now),
    perUser: new RateLimiter(now),
    rateLimited: { inc() {} },
  } as unknown as Services;
}

/** The status the refusal answers with (a use case error gets it from the routes' one mapper). */
const status = (p: Promise<void>) =>
  p.then(
    () => 200,
    (e: unknown) => toApiError(e).status,
  );

describe('generationUnits', () => {
  it('charges a generation per started block of requested tokens, times the generations', () => {
    expect(GENERATION_UNIT_TOKENS).toBe(128);
    expect(generationUnits(1, 64)).toBe(1);
    expect(generationUnits(1, 128)).toBe(1);
    expect(generationUnits(1, 129)).toBe(2);
    expect(generationUnits(4, 512)).toBe(16);
  });
});

describe('takeRateLimits', () => {
  it('takes the units asked from both buckets', async () => {
    const s = services(16, 100);
    expect(await status(takeRateLimits(s, app, 'u', 16))).toBe(200);
    expect(await status(takeRateLimits(s, app, 'u'))).toBe(429);
  });

  it("gives the user back the units the key's limit refused", async () => {
    const s = services(10, 10);
    expect(await status(takeRateLimits(s, app, 'a', 6))).toBe(200); // key 4 left, a 4 left
    expect(await status(takeRateLimits(s, app, 'b', 8))).toBe(429); // the key refuses b's 8
    // b got all 8 back: once the key has units again b has its whole bucket. The key's 4 prove it now.
    expect(await status(takeRateLimits(s, app, 'b', 4))).toBe(200);
    expect(s.perUser.take('app_1:b', 10, 6).allowed).toBe(true);
  });
});
