// The shared BlobStore suite (functions/storage/store-suite.ts) on the file driver. Its signed URLs are
// file:// URLs (local only), read here from the file system instead of with fetch.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { blobStoreSuite } from '../../storage/store-suite.js';
import { FileStore } from './file-store.js';

blobStoreSuite('file', async () => new FileStore(await mkdtemp(join(tmpdir(), 'tailor-fs-suite-'))), {
  readSignedUrl: async (url) => new Uint8Array(await readFile(fileURLToPath(url))),
});
