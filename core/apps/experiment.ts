// An app's holdout experiment (settings `experiment.holdout_percent`): a share of the requests of users who have
// an adapter is answered by the base model instead and marked `holdout`, the others `personalized`, so that the
// like-rates of both can be compared on real feedback (GET /admin/apps/{app}/effect).
//
// The choice is per request, by a hash of the generation id: deterministic (a test, or an audit, can tell from
// the id alone which arm a generation was meant for) and independent of the user, so a user's requests fall in
// both arms at the holdout's rate.

import type { GenerationArm } from '../../schema/tables.js';

export type { GenerationArm };

/** FNV-1a (32 bits) of a string's UTF-16 code units. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** 0-99: the generation's place in the experiment; below `holdout_percent` it is held out. */
export const holdoutBucket = (generationId: string): number => fnv1a32(generationId) % 100;

/** The arm of a generation in the experiment (one of a user with an adapter, asked with `auto`). */
export function armOf(generationId: string, holdoutPercent: number): GenerationArm {
  return holdoutBucket(generationId) < holdoutPercent ? 'holdout' : 'personalized';
}
