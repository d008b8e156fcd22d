// Child process for the memory figures: a process that does what a server does — loads the engine from the
// FileStore, generates without and with a rank-8 adapter — and reports its resident set size: sampled
// process.memoryUsage().rss (max) and the kernel's high-water mark of this process image (VmHWM; its
// resourceUsage().maxRSS would include the parent's RSS, see RssSampler.stop).
import { Engine } from '../engine/index.js';
import { RssSampler } from './harness.js';
import { ADAPTERS, BASE, GREEDY, loadShippedPackage, rankAdapter } from './setup.js';

process.on('message', async (m: { tokens?: number; exit?: true }) => {
  if (m.exit) {
    process.disconnect?.();
    return;
  }
  try {
    const sampler = new RssSampler(5);
    const pkg = await loadShippedPackage();
    const engine = new Engine(pkg, { loader: ADAPTERS });
    const loadedRssMB = process.memoryUsage.rss() / 2 ** 20;
    const files = rankAdapter(pkg, 5, 8);
    const opts = { ...GREEDY, base: BASE, maxTokens: m.tokens ?? 64 };
    await engine.generate('Once upon a time', opts).result;
    await engine.generate('Once upon a time', { ...opts, adapters: [ADAPTERS.ref('a', files)] }).result;
    process.send?.({ ...sampler.stop(), loadedRssMB });
  } catch (e) {
    process.send?.({ error: String((e as Error)?.stack ?? e) });
  }
});
