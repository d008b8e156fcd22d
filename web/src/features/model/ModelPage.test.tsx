// The Model page against a stubbed fetch: every base (the default marked) with what its import measured, the
// imports with their live progress (polled while one runs), and an import the server refuses, its message shown.
import { MantineProvider } from '@mantine/core';
import { QueryClientProvider } from '@tanstack/react-query';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeQueryClient } from '../../lib/errors';
import type { JobItem, ModelCard, ModelsList } from '../../lib/types';
import { ModelPage } from './ModelPage';

const card: ModelCard = {
  id: 'brown-4m',
  params: 4_200_000,
  architecture: { layers: 4, hidden_size: 256, heads: 8, kv_heads: 4, vocab_size: 8192, context: 512 },
  lora: { targets: ['q_proj', 'v_proj'], max_rank: 16 },
  perplexity: [
    { split: 'fiction', ppl: 41.2, nll: 3.72, tokens: 1000 },
    { split: 'all', ppl: 44.5, nll: 3.8, tokens: 9000 },
  ],
  training: { steps: 3000, tokens_seen: 12_000_000, seconds: 600, device: 'cpu', loss: [[1, 9.1]] },
  splits: { train: 400, heldout: 100 },
};

const importJob = (progress: JobItem['progress']): JobItem => ({
  id: 'job_imp1',
  kind: 'import-model',
  app_id: null,
  status: 'running',
  attempts: 1,
  max_attempts: 1,
  payload: {
    name: 'qwen-tiny',
    source: { path: '/srv/models/qwen-tiny' },
    servedContext: 2048,
    quantize: 'none',
  },
  progress,
  result: null,
  error: null,
  created_at: new Date().toISOString(),
  started_at: new Date().toISOString(),
  finished_at: null,
});

const list = (imports: JobItem[]): ModelsList => ({
  default: 'brown-4m',
  models: [
    {
      id: 'brown-4m',
      hash: 'a'.repeat(64),
      family: 'llama',
      context: 512,
      imported: null,
      created_at: '2025-01-01T00:00:00.000Z',
    },
    {
      id: 'smollm2-135m',
      hash: 'b'.repeat(64),
      family: 'llama',
      context: 2048,
      imported: {
        params: 134_515_008,
        source_dtype: 'bf16',
        parity: { positions: 64, graph_max_abs_diff: 3.1e-8, limit: 1e-4 },
        bits_per_byte: { fiction: { bpb: 1.02, bytes: 1500 }, all: { bpb: 1.0876, bytes: 22_500 } },
        graph_bytes: 540_000_000,
        served_context: 2048,
        seconds: 95,
      },
      created_at: '2025-01-02T00:00:00.000Z',
    },
  ],
  imports,
});

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

/** A platform whose import is at `stages[n]` on the n-th listing (the last one from then on). */
function platform(stages: JobItem['progress'][], post: () => Response) {
  let listed = 0;
  return vi.fn(async (url: string, init?: RequestInit) => {
    const method = init?.method ?? 'GET';
    if (url === '/admin/model') return json(200, card);
    if (url === '/admin/models' && method === 'GET') {
      const stage = stages[Math.min(listed++, stages.length - 1)] ?? {};
      return json(200, list([importJob(stage)]));
    }
    if (url === '/admin/models' && method === 'POST') return post();
    return json(404, { error: { code: 'not_found', message: `no route ${method} ${url}` } });
  });
}

const renderPage = () =>
  render(
    <MantineProvider>
      <QueryClientProvider client={makeQueryClient()}>
        <ModelPage />
      </QueryClientProvider>
    </MantineProvider>,
  );

afterEach(() => vi.unstubAllGlobals());

describe('ModelPage', () => {
  it('lists every base with what its import measured, and the imports with their live progress', async () => {
    vi.stubGlobal(
      'fetch',
      platform(
        [
          { stage: 'converting', done: 1, total: 5 },
          { stage: 'checking against transformers', done: 3, total: 5 },
        ],
        () => json(500, {}),
      ),
    );
    renderPage();
    const shipped = await screen.findByTestId('base-brown-4m');
    expect(within(shipped).getByTestId('default-base').textContent).toBe('default');
    expect(shipped.textContent).toContain('4.2 M'); // the shipped base's parameters, from its card
    const imported = screen.getByTestId('base-smollm2-135m');
    expect(within(imported).queryByTestId('default-base')).toBeNull();
    const cells = within(imported)
      .getAllByRole('cell')
      .map((c) => c.textContent);
    expect(cells).toEqual(
      expect.arrayContaining(['llama', '2,048', '134.5 M', '3.10e-8 (≤ 0.0001)', '1.088']),
    );

    const row = screen.getByTestId('import-job_imp1');
    expect(row.textContent).toContain('qwen-tiny');
    expect(row.textContent).toContain('/srv/models/qwen-tiny');
    expect(within(row).getByTestId('import-status').textContent).toBe('running');
    expect(row.textContent).toContain('converting · 1 of 5');
    // Polled while it runs: the next listing's stage replaces this one.
    await waitFor(() => expect(row.textContent).toContain('checking against transformers · 3 of 5'), {
      timeout: 4000,
    });

    // The shipped base's card is still there.
    expect(await screen.findByText('Held-out perplexity by genre')).toBeTruthy();
  });

  it("shows the server's refusal of an import, naming the field", async () => {
    const message = 'path: /etc/passwd is not under an import root (/srv/models)';
    const fetch = platform([{}], () => json(422, { error: { code: 'invalid_request', message } }));
    vi.stubGlobal('fetch', fetch);
    renderPage();
    await screen.findByTestId('base-brown-4m');
    fireEvent.change(screen.getByLabelText(/^Name/), { target: { value: 'mine' } });
    fireEvent.change(screen.getByLabelText(/^Server path/), { target: { value: '/etc/passwd' } });
    fireEvent.click(screen.getByRole('button', { name: 'Import' }));
    expect((await screen.findByRole('alert')).textContent).toContain(message);
    const post = fetch.mock.calls.find(([, init]) => init?.method === 'POST');
    expect(JSON.parse(String(post?.[1]?.body))).toEqual({ name: 'mine', path: '/etc/passwd' });
  });
});
