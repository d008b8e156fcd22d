// GET /v1/models/{model}/files: signed, content-hashed links of the base model package a device downloads
// once to generate on its own (config, tokenizer, ONNX graph). The digests come from the package's marker,
// which the publisher writes last; the links are the same kind /v1/users/{user}/adapter hands out.
import { createRoute } from '@hono/zod-openapi';
import { getBaseModel } from '../../core/db/base-models.js';
import { DEVICE_FILES, MODEL_MARKER, type ModelMarker } from '../../core/model/package-files.js';
import { type ModelFilesResponse, modelFilesResponse, modelParams } from '../../schema/contracts.js';
import { linkFiles } from '../http/download-links.js';
import { ApiError, notFound } from '../http/errors.js';
import { appSecurity, errors, json, routes } from '../http/openapi.js';
import type { Services } from '../http/services.js';
import { callerApp } from '../usecases/caller.js';
import { takeCallerLimits } from '../usecases/rate-limits.js';

const LINK_TTL_S = 3600;

export const modelFilesRoute = createRoute({
  method: 'get',
  path: '/v1/models/{model}/files',
  tags: ['users'],
  summary: 'The base model package, for a device',
  description:
    'Signed, content-hashed links (valid for an hour) of the files a device needs to run the base model ' +
    "itself: `config.json`, `tokenizer.json`, `tokenizer_config.json` and `model.onnx`. With a user's " +
    'adapter files (`GET /v1/users/{user}/adapter`) the device generates what the server would. Cache the ' +
    'bytes by `sha256`: they change only when the operator publishes another model.',
  security: appSecurity,
  request: { params: modelParams },
  responses: {
    200: json(modelFilesResponse, 'The package'),
    ...errors(401, 403, 404, 422, 429, 503),
  },
});

export function modelFileRoutes(s: Services) {
  return routes().openapi(modelFilesRoute, async (c) => {
    callerApp(c.get('caller'));
    await takeCallerLimits(s, c.get('caller'));
    const { model } = c.req.valid('param');
    const row = await getBaseModel(s.db, model);
    if (!row) {
      if (model === s.baseModelId)
        throw new ApiError(503, 'unavailable', 'the base model is not published yet; retry later');
      throw notFound(`base model ${model} is not published here: GET /v1/models lists the models`);
    }
    const marker = await s.store.get(row.storagePrefix + MODEL_MARKER);
    const digests = marker
      ? ((JSON.parse(new TextDecoder().decode(marker)) as ModelMarker).digests ?? {})
      : {};
    const origin = s.config.publicUrl ?? new URL(c.req.url).origin;
    const files = await linkFiles(
      s.store,
      s.urlSecret,
      origin,
      row.storagePrefix,
      DEVICE_FILES,
      LINK_TTL_S,
      s.now(),
      digests,
    );
    const out: ModelFilesResponse = { id: row.id, hash: row.hash, files };
    return c.json(out, 200);
  });
}
