// The shared BlobStore suite on the in-memory driver (its signed URLs are data: URLs, which fetch reads).
import { MemoryStore } from './memory-store.js';
import { blobStoreSuite } from './store-suite.js';

blobStoreSuite('memory', async () => new MemoryStore());
