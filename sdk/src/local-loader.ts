// The engine's adapter loader on a device: a version's files come through the signed links the platform handed
// out (`GET /v1/users/{user}/adapter`), downloaded or found in the page's cache. The engine asks by reference
// (`key`); the links of each version are registered here before it is asked for.
import { type AdapterFiles, type AdapterLoader, type AdapterRef, EngineError } from '../../engine/index.js';
import type { FileLink } from '../../schema/contracts.js';
import { TailorError } from './errors.js';

/** A file's bytes from its signed link: downloaded (and checked against its hash) or from the cache. */
export type FetchLink = (link: FileLink) => Promise<Uint8Array>;

const fileNamed = (files: readonly FileLink[], name: string) => {
  const f = files.find((x) => x.name === name);
  if (!f) throw new TailorError(502, 'download_failed', `the adapter package has no ${name}`);
  return f;
};

export class SignedLinkLoader implements AdapterLoader {
  private readonly versions = new Map<string, { files: readonly FileLink[]; fetch: FetchLink }>();

  /** The links of the version the engine will know as `key`, and how to fetch them. */
  register(key: string, files: readonly FileLink[], fetch: FetchLink): void {
    this.versions.set(key, { files, fetch });
  }

  async load(ref: AdapterRef): Promise<AdapterFiles> {
    const version = this.versions.get(ref.key);
    if (!version) throw new EngineError('adapter_missing', `no download links for adapter ${ref.key}`);
    const { files, fetch } = version;
    return {
      config: await fetch(fileNamed(files, 'adapter_config.json')),
      weights: await fetch(fileNamed(files, 'adapter_model.safetensors')),
    };
  }
}
