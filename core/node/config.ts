// The configuration as a Node process reads it: process.env, with every data path made absolute against the
// directory the process started in (`npm start` and `npm run` start in the repository root). A bad setting
// ends the process with the list of problems, exit code 2.
import { resolve } from 'node:path';
import { type Config, ConfigError, loadConfig } from '../config.js';

export function loadNodeConfig(env: Record<string, string | undefined> = process.env): Readonly<Config> {
  try {
    return loadConfig(env, { resolvePath: (p) => resolve(p) });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    console.error(e.message);
    process.exit(2);
  }
}
