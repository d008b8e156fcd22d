// Where the repository is, whatever directory the process started in: the shipped base model packages live
// in models/<id>/ under it.
import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
export const MODELS_DIR = join(REPO_ROOT, 'models');
