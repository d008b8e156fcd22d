// onnxruntime-web has one wasm instance for every session: runs must not overlap, even across sessions.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { decoderShapeFromConfig } from '../core/model/config.js';
import { Decoder } from './decoder.js';

const dir = join(import.meta.dirname, '../models/brown-4m');

it('runs two sessions at once without corrupting either', async () => {
  const shape = decoderShapeFromConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
  const bytes = readFileSync(join(dir, 'model.onnx'));
  const [a, b] = await Promise.all([Decoder.create(bytes, shape), Decoder.create(bytes, shape)]);
  const ids = [[0, 464, 1003, 318, 257, 1097, 290, 262]];
  const alone = await a.run({ ids });
  const together = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).run({ ids })));
  for (const out of together) expect(Array.from(out.logits)).toEqual(Array.from(alone.logits));
  await Promise.all([a.release(), b.release()]);
}, 60_000);
