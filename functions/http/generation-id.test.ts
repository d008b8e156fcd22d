import { describe, expect, it } from 'vitest';
import { newId } from '../../core/db/ids.js';
import { GenerationIds, legacyTag } from './generation-id.js';

const app = { id: 'app_a', signingSecret: 'the-apps-original-secret' };

describe('GenerationIds', () => {
  it('checks an id it minted for that app and user only, and under its own key only', async () => {
    const ids = new GenerationIds('platform-secret');
    const id = await ids.mint(app.id, 'u1');
    expect(await ids.check(app, id, 'u1')).toBe('issued');
    expect(await ids.check(app, id, 'u2')).toBeNull();
    expect(await ids.check({ ...app, id: 'app_b' }, id, 'u1')).toBeNull();
    expect(await new GenerationIds('another-platform').check(app, id, 'u1')).toBeNull();
    expect(await ids.check(app, `${id.slice(0, -1)}x`, 'u1')).toBeNull();
    expect(await ids.check(app, 'gen_no_tag', 'u1')).toBeNull();
  });

  it("tells a tag under the app's signing secret (the ids issued before) apart: legacy, for the caller to confirm", async () => {
    const ids = new GenerationIds('platform-secret');
    const id = newId('gen');
    const legacy = `${id}.${await legacyTag(app.signingSecret, id, 'u1')}`;
    expect(await ids.check(app, legacy, 'u1')).toBe('legacy');
    expect(await ids.check(app, legacy, 'u2')).toBeNull();
    const minted = await ids.mint(app.id, 'u1');
    expect(minted.split('.')[1]).not.toBe(
      await legacyTag(app.signingSecret, minted.split('.')[0] ?? '', 'u1'),
    );
  });
});
