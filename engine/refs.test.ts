// One key for a set of adapter references: the engine's caches and the pool's choice of thread use the same.
import { describe, expect, it } from 'vitest';
import { type AdapterRef, adapterKey, adapterSetKey, setKeyMentions } from './refs.js';

const ref = (key: string, weight = 1): AdapterRef => ({ base: 'brown-4m', key, kind: 'user', weight });

describe('adapter set keys', () => {
  it('one version at weight 1 is its own entry; anything else a composition of keys and weights', () => {
    expect(adapterSetKey(undefined)).toBeUndefined();
    expect(adapterSetKey([])).toBeUndefined();
    expect(adapterSetKey([ref('adapters/a/u1/v1/')])).toBe('adapter:adapters/a/u1/v1/');
    expect(adapterSetKey([ref('adapters/a/u1/v1/')])).toBe(adapterKey(ref('adapters/a/u1/v1/')));
    expect(adapterSetKey([ref('adapters/a/u1/v1/', 0.5)])).toBe('compose:[["adapters/a/u1/v1/",0.5]]');
    expect(adapterSetKey([ref('a/'), ref('s/', 2)])).toBe('compose:[["a/",1],["s/",2]]');
  });

  it('the same set gives the same key; another weight or order another', () => {
    const a = [ref('a/'), ref('s/', 0.3)];
    expect(adapterSetKey(a)).toBe(adapterSetKey([ref('a/'), ref('s/', 0.3)]));
    expect(adapterSetKey(a)).not.toBe(adapterSetKey([ref('a/'), ref('s/', 0.4)]));
    expect(adapterSetKey(a)).not.toBe(adapterSetKey([ref('s/', 0.3), ref('a/')]));
  });

  it('an erased owner’s prefix matches every key that names one of their versions', () => {
    const owner = 'adapters/app/u1/';
    expect(setKeyMentions(adapterSetKey([ref(`${owner}v1/`)]) as string, owner)).toBe(true);
    expect(
      setKeyMentions(adapterSetKey([ref('styles/app/s/v1/'), ref(`${owner}v2/`, 0.5)]) as string, owner),
    ).toBe(true);
    expect(setKeyMentions(adapterSetKey([ref('adapters/app/u10/v1/')]) as string, owner)).toBe(false);
    expect(setKeyMentions('something:else', owner)).toBe(false);
  });
});
