// The files of a base model package in storage (docs/architecture.md, "Model package"), shared by the Node
// publisher, the routes that link them and the device that downloads them.
import { z } from 'zod';

/**
 * What a publisher records of each file it wrote, by file name: hex SHA-256 and size in bytes. The base
 * model's marker and an adapter package's manifest both carry it, so download links and the route that
 * serves them check a file against the record instead of reading and hashing it.
 */
export const fileDigests = z.record(
  z.string(),
  z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), size: z.number().int().min(0) }),
);
export type FileDigests = z.infer<typeof fileDigests>;

/** Written last by the publisher: the package's id, weights hash, package hash and each file's digest. */
export const MODEL_MARKER = 'tailor-package.json';

/** What a device downloads to generate on its own (the safetensors are for training, not inference). */
export const DEVICE_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.onnx'] as const;

export interface ModelMarker {
  id: string;
  /** SHA-256 of model.safetensors: the base model adapters name. */
  hash: string;
  /** SHA-256 over every file's name and bytes: changes when any file does. */
  packageHash: string;
  files: string[];
  /** Per file: hex SHA-256 and size in bytes (markers written before these were recorded lack them). */
  digests?: FileDigests;
}
