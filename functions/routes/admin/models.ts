// Admin: base models. Operators bring their own: a Hugging Face checkpoint directory is uploaded file by file
// (`PUT /admin/model-uploads/{upload}/{file}`, what `tailor models import` does), or named by a path under the
// configured import roots, or by a storage prefix under `imports/`; `POST /admin/models` reads it with the strict
// reader (a refusal names the field, and nothing is queued) and queues the import job, which converts, checks
// and publishes it. `GET /admin/models` lists the published bases and the imports.
import { createRoute } from '@hono/zod-openapi';
import { listBaseModels } from '../../../core/db/base-models.js';
import { listJobs, openJobPayloads } from '../../../core/db/jobs.js';
import { isCheckpointFile, storeCheckpointFiles } from '../../../core/model/checkpoint-store.js';
import {
  CheckpointError,
  type CheckpointFiles,
  inspectCheckpoint,
} from '../../../core/model/hf-checkpoint.js';
import { enqueue } from '../../../core/training/jobs.js';
import {
  importModelRequest,
  importModelResponse,
  listModelsResponse,
  modelUploadParams,
  modelUploadResponse,
} from '../../../schema/contracts.js';
import { ApiError, notFound } from '../../http/errors.js';

const conflict = (message: string) => new ApiError(409, 'conflict', message);

import { ADMIN_ERRORS, adminSecurity, body, errors, json, routes } from '../../http/openapi.js';
import type { Services } from '../../http/services.js';
import { audit } from '../../usecases/audit.js';
import { views } from '../../usecases/views.js';

const tags = ['models'];
const security = adminSecurity;

/** The files a checkpoint directory may hold: what save_pretrained writes, and nothing that is executed. */
const UPLOADABLE =
  /^(config|generation_config|tokenizer|tokenizer_config|special_tokens_map)\.json$|\.safetensors$|^model\.safetensors\.index\.json$/;

const uploadRoute = createRoute({
  method: 'put',
  path: '/admin/model-uploads/{upload}/{file}',
  tags,
  security,
  summary: 'Upload one file of a checkpoint directory',
  description:
    'The body is the file\'s bytes. Files land under `imports/{upload}/` in storage; `POST /admin/models` with `{"upload": "..."}` imports them. Only the files `save_pretrained` writes are taken (config and tokenizer JSON, safetensors weights and their index); pickled weights are refused.',
  request: { params: modelUploadParams },
  responses: { 201: json(modelUploadResponse, 'Stored'), ...errors(...ADMIN_ERRORS) },
});

const importRoute = createRoute({
  method: 'post',
  path: '/admin/models',
  tags,
  security,
  summary: 'Import a Hugging Face checkpoint as a base model',
  description:
    "Reads the checkpoint (Llama, Mistral or Qwen2 families; safetensors in fp32, fp16 or bf16) and queues its import: conversion to the engine's graph, a check against transformers, bits per byte on held-out text, publication. Anything unsupported is refused here, naming the field and value, and nothing is queued.",
  request: { body: body(importModelRequest) },
  responses: { 202: json(importModelResponse, 'Queued'), ...errors(...ADMIN_ERRORS, 404, 409) },
});

const listRoute = createRoute({
  method: 'get',
  path: '/admin/models',
  tags,
  security,
  summary: 'Base models and their imports',
  description:
    'Every published base (the default marked), with what its import measured; then the imports, newest first.',
  responses: { 200: json(listModelsResponse, 'The models'), ...errors(401, 403) },
});

export function adminModelRoutes(s: Services) {
  return routes()
    .openapi(uploadRoute, async (c) => {
      const { upload, file } = c.req.valid('param');
      if (!isCheckpointFile(file)) {
        const pickled = /\.(bin|pt|pth|ckpt|pkl)$/.test(file);
        throw new ApiError(
          422,
          'invalid_request',
          pickled
            ? `file: ${file} is pickled weights, which are never unpickled: save with safe_serialization=True (safetensors)`
            : `file: ${file} is not a file an import reads (config and tokenizer JSON, chat_template.jinja, *.safetensors, model.safetensors.index.json)`,
        );
      }
      const max = s.config.imports.maxUploadBytes;
      const tooLarge = () =>
        new ApiError(
          413,
          'payload_too_large',
          `the file is over the limit of ${max} bytes (MAX_UPLOAD_BYTES)`,
        );
      const declared = Number.parseInt(c.req.header('content-length') ?? '', 10);
      if (declared > max) throw tooLarge();
      // Counted as it arrives: a body without a length (chunked) is held to the same limit.
      const chunks: Uint8Array[] = [];
      let size = 0;
      const reader = c.req.raw.body?.getReader();
      for (;;) {
        const next = reader ? await reader.read() : { done: true as const, value: undefined };
        if (next.done) break;
        size += next.value.byteLength;
        if (size > max) {
          await reader?.cancel();
          throw tooLarge();
        }
        chunks.push(next.value);
      }
      const bytes = new Uint8Array(size);
      let at = 0;
      for (const chunk of chunks) {
        bytes.set(chunk, at);
        at += chunk.byteLength;
      }
      const key = `imports/${upload}/${file}`;
      await s.store.put(key, bytes);
      return c.json({ key, size: bytes.length }, 201);
    })
    .openapi(importRoute, async (c) => {
      const req = c.req.valid('json');
      const bases = await listBaseModels(s.db);
      if (bases.some((b) => b.id === req.name))
        throw conflict(`base model ${req.name} exists: importing again needs another name`);
      const open = (await openJobPayloads(s.db, 'import-model')) as { name?: string }[];
      if (open.some((p) => p.name === req.name)) throw conflict(`base model ${req.name} is being imported`);
      const { files, source } = await sourceOf(s, req);
      const servedContext = s.config.imports.servedContext;
      let summary: Awaited<ReturnType<typeof inspectCheckpoint>>;
      try {
        summary = await inspectCheckpoint(files, { servedContext });
      } catch (e) {
        if (e instanceof CheckpointError) throw new ApiError(422, 'invalid_request', e.message);
        throw e;
      }
      const job = await enqueue(
        s.db,
        'import-model',
        { name: req.name, source, servedContext, quantize: req.quantize ?? 'none' },
        { maxAttempts: 1 },
      );
      await audit(s, c.get('caller'), 'model.import', {
        details: { job: job.id, name: req.name, family: summary.family, params: summary.params },
      });
      return c.json({ job: views.job(job), checkpoint: summary }, 202);
    })
    .openapi(listRoute, async (c) => {
      const [bases, imports] = await Promise.all([
        listBaseModels(s.db),
        listJobs(s.db, { kind: 'import-model' }, { limit: 20 }),
      ]);
      return c.json(
        {
          default: s.baseModelId,
          models: bases.map((b) => {
            const tailor = (b.config.tailor ?? {}) as {
              import?: Record<string, unknown>;
              served_context?: number;
            };
            return {
              id: b.id,
              hash: b.hash,
              family: String(b.config.model_type ?? 'llama'),
              context: tailor.served_context ?? Number(b.config.max_position_embeddings ?? 0),
              imported: tailor.import ?? null,
              created_at: b.createdAt.toISOString(),
            };
          }),
          imports: imports.items.map((j) => views.job(j)),
        },
        200,
      );
    });
}

/** The checkpoint a request names, as the strict reader reads it, and how the job will find it. */
async function sourceOf(
  s: Services,
  req: { upload?: string | undefined; prefix?: string | undefined; path?: string | undefined },
): Promise<{ files: CheckpointFiles; source: { prefix: string } | { path: string } }> {
  if (req.path !== undefined) {
    if (!s.checkpoints)
      throw new ApiError(
        422,
        'invalid_request',
        'path: this runtime reads no server paths; upload the files',
      );
    const path = await s.checkpoints.resolve(req.path).catch((e: Error) => {
      throw new ApiError(422, 'invalid_request', e.message);
    });
    return { files: await s.checkpoints.fromPath(path), source: { path } };
  }
  const prefix = req.upload !== undefined ? `imports/${req.upload}/` : (req.prefix as string);
  const files = await storeCheckpointFiles(s.store, prefix);
  if (files.names.length === 0) throw notFound(`nothing is stored under ${prefix}`);
  return { files, source: { prefix } };
}
