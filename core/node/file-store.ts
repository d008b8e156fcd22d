// The embedded storage driver: a local directory (node:fs). Keys map to paths under `root`; every key is
// checked by assertValidKey and the resolved path must stay inside root. A put writes a temp file beside
// the target and renames it over, so a reader sees the old bytes or the new ones, never a torn file.
// signedUrl returns a `file://` URL: it only works on this machine and does not expire (there is nothing
// to sign); production uses the S3 driver for real download links.
import { randomUUID } from 'node:crypto';
import {
  type FileHandle,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  rmdir,
  stat,
  writeFile,
} from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  assertValidKey,
  assertValidPrefix,
  assertValidRange,
  type BlobInfo,
  type BlobStore,
  type BlobStream,
  type ByteRange,
  rangeWithin,
  StorageError,
} from '../storage/store.js';

/** Temp files of unfinished puts; never listed, and no key may use the marker. */
const TMP_MARK = '.tailor-tmp-';

/** A stream reads this much at a time, as the consumer pulls. */
const CHUNK_BYTES = 64 * 1024;

export class FileStore implements BlobStore {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  private pathOf(key: string): string {
    assertValidKey(key);
    if (key.split('/').some((s) => s.startsWith(TMP_MARK)))
      throw new StorageError(`invalid storage key: ${JSON.stringify(key)} (reserved segment)`);
    const path = resolve(this.root, key);
    if (!path.startsWith(this.root + sep)) throw new StorageError(`storage key escapes the root: ${key}`);
    return path;
  }

  async get(key: string): Promise<Uint8Array | null> {
    const path = this.pathOf(key);
    try {
      const buf = await readFile(path);
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (e) {
      if (isNoObject(e)) return null;
      throw e;
    }
  }

  /**
   * Reads from an open handle: a put renames a new file over the key, so a stream begun before it goes on
   * with the bytes it started with, and `size` is theirs. The handle closes when the body ends or is
   * cancelled. Pulled chunk by chunk (not `Readable.toWeb` of a read stream, whose buffering Node has changed
   * between versions): what one download holds is one chunk.
   */
  async getStream(key: string, range?: ByteRange): Promise<BlobStream | null> {
    const path = this.pathOf(key);
    assertValidRange(range);
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (e) {
      if (isNoObject(e)) return null;
      throw e;
    }
    let span: { start: number; end: number } | undefined;
    let size: number;
    try {
      const st = await fh.stat();
      if (!st.isFile()) {
        await fh.close();
        return null;
      }
      size = st.size;
      span = rangeWithin(range, size);
    } catch (e) {
      await fh.close();
      throw e;
    }
    let at = span?.start ?? 0;
    const end = span ? span.end + 1 : size;
    const body = new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          try {
            const want = Math.min(CHUNK_BYTES, end - at);
            const { bytesRead, buffer } =
              want > 0 ? await fh.read(new Uint8Array(want), 0, want, at) : { bytesRead: 0, buffer: null };
            if (bytesRead === 0 || !buffer) {
              await fh.close();
              controller.close();
              return;
            }
            at += bytesRead;
            controller.enqueue(bytesRead === want ? buffer : buffer.subarray(0, bytesRead));
          } catch (e) {
            await fh.close().catch(() => {});
            controller.error(e);
          }
        },
        async cancel() {
          await fh.close();
        },
      },
      { highWaterMark: 0 },
    );
    return { body, size, ...(span ? { range: span } : {}) };
  }

  async put(key: string, bytes: Uint8Array, _opts: { contentType?: string } = {}): Promise<void> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    const tmp = join(dirname(path), `${TMP_MARK}${randomUUID()}`);
    try {
      await writeFile(tmp, bytes, { flush: true });
      await rename(tmp, path);
    } catch (e) {
      await rm(tmp, { force: true });
      if (isMissing(e) || (e as NodeJS.ErrnoException).code === 'EISDIR')
        throw new StorageError(`cannot write ${key}: a path segment is both an object and a prefix`);
      throw e;
    }
  }

  async head(key: string): Promise<BlobInfo | null> {
    const path = this.pathOf(key);
    try {
      const st = await stat(path);
      if (!st.isFile()) return null;
      return {
        key,
        size: st.size,
        etag: `${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}`,
        lastModified: st.mtime,
      };
    } catch (e) {
      if (isMissing(e)) return null;
      throw e;
    }
  }

  async list(prefix: string): Promise<BlobInfo[]> {
    assertValidPrefix(prefix);
    // Walk only the deepest directory the prefix fully names — and only when it is spelled so on disk: on a
    // case-insensitive file system (macOS, Windows) `adapters/app/Bob` opens `adapters/app/bob`, and the keys
    // listed under it would carry the asked-for spelling (erasing `Bob` would then delete `bob`'s files).
    const dir = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    if (!(await this.spelledExactly(dir))) return [];
    const keys: string[] = [];
    await this.walk(join(this.root, dir), keys);
    const out: BlobInfo[] = [];
    for (const key of keys.filter((k) => k.startsWith(prefix)).sort()) {
      const info = await this.head(key);
      if (info) out.push(info);
    }
    return out;
  }

  /** Whether every segment of `dir` (relative to root) exists under exactly that name. */
  private async spelledExactly(dir: string): Promise<boolean> {
    let at = this.root;
    for (const segment of dir === '' ? [] : dir.split('/')) {
      let names: string[];
      try {
        names = await readdir(at);
      } catch (e) {
        if (isMissing(e)) return false;
        throw e;
      }
      if (!names.includes(segment)) return false;
      at = join(at, segment);
    }
    return true;
  }

  private async walk(dir: string, keys: string[]): Promise<void> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      if (isMissing(e)) return;
      throw e;
    }
    for (const ent of entries) {
      if (ent.name.startsWith(TMP_MARK)) continue;
      const path = join(dir, ent.name);
      if (ent.isDirectory()) await this.walk(path, keys);
      else if (ent.isFile()) keys.push(relative(this.root, path).split(sep).join('/'));
    }
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    await rm(path, { force: true });
    // Drop directories the delete left empty, so a deleted user leaves no trace.
    for (let d = dirname(path); d.startsWith(this.root + sep); d = dirname(d)) {
      try {
        await rmdir(d);
      } catch {
        break;
      }
    }
  }

  async signedUrl(key: string, _expiresInSeconds: number): Promise<string> {
    return pathToFileURL(this.pathOf(key)).href;
  }
}

function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** A key that names a directory (only a prefix of other keys) is no object either. */
function isNoObject(e: unknown): boolean {
  return isMissing(e) || (e as NodeJS.ErrnoException | undefined)?.code === 'EISDIR';
}
