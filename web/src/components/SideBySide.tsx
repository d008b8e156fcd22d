// Two generations of the same prompt and seed, streamed side by side: each column names the adapter it used,
// and, with the user's memory on, the passages of theirs placed before the prompt.
import {
  Badge,
  Button,
  Group,
  NumberInput,
  Paper,
  SimpleGrid,
  Stack,
  Switch,
  Text,
  Textarea,
} from '@mantine/core';
import { useRef, useState } from 'react';
import { api } from '../lib/api';
import { showError } from '../lib/errors';
import type { GenerateRequest, GenerateResponse } from '../lib/types';

export interface Side {
  label: string;
  adapter: GenerateRequest['adapter'];
  styles?: { id: string; weight: number }[];
}

interface Column {
  text: string;
  done?: GenerateResponse;
}

export function SideBySide({
  app,
  user,
  sides,
  defaultPrompt = 'The old lighthouse keeper',
}: {
  app: string;
  user: string;
  sides: [Side, Side];
  defaultPrompt?: string;
}) {
  const [prompt, setPrompt] = useState(defaultPrompt);
  const [seed, setSeed] = useState<number | string>(7);
  const [maxTokens, setMaxTokens] = useState<number | string>(48);
  const [cols, setCols] = useState<[Column, Column]>([{ text: '' }, { text: '' }]);
  const [memory, setMemory] = useState(false);
  const [busy, setBusy] = useState(false);
  const abort = useRef<AbortController | null>(null);
  const run = async () => {
    abort.current?.abort();
    const ctl = new AbortController();
    abort.current = ctl;
    setBusy(true);
    setCols([{ text: '' }, { text: '' }]);
    const one = async (i: 0 | 1) => {
      const side = sides[i];
      const done = await api.stream<GenerateResponse>(
        `/admin/apps/${app}/generate`,
        {
          user,
          prompt,
          seed: Number(seed),
          max_tokens: Number(maxTokens),
          temperature: 0.8,
          adapter: side.adapter,
          memory: memory ? 'auto' : 'none',
          ...(side.styles?.length ? { styles: side.styles } : {}),
        },
        (piece) =>
          setCols((c) =>
            i === 0 ? [{ text: c[0].text + piece }, c[1]] : [c[0], { text: c[1].text + piece }],
          ),
        ctl.signal,
      );
      setCols((c) => (i === 0 ? [{ ...c[0], done }, c[1]] : [c[0], { ...c[1], done }]));
    };
    try {
      await Promise.all([one(0), one(1)]);
    } catch (e) {
      if (!ctl.signal.aborted) showError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Stack>
      <Textarea
        label="Prompt"
        value={prompt}
        onChange={(e) => setPrompt(e.currentTarget.value)}
        autosize
        minRows={2}
      />
      <Group align="flex-end">
        <NumberInput label="Seed" value={seed} onChange={setSeed} w={120} min={0} />
        <NumberInput label="Max tokens" value={maxTokens} onChange={setMaxTokens} w={140} min={1} max={512} />
        <Switch
          label="User's memory"
          description="Their liked and edited passages before the prompt"
          checked={memory}
          onChange={(e) => setMemory(e.currentTarget.checked)}
        />
        <Button onClick={run} loading={busy} disabled={!prompt.trim()}>
          Generate both
        </Button>
      </Group>
      <SimpleGrid cols={{ base: 1, sm: 2 }}>
        {sides.map((side, i) => {
          const col = cols[i as 0 | 1];
          return (
            <Paper key={side.label} withBorder p="md" data-testid={`side-${i}`}>
              <Group justify="space-between" mb="xs">
                <Text fw={600}>{side.label}</Text>
                {col.done && (
                  <Badge variant="light" color={col.done.adapter ? 'violet' : 'gray'}>
                    {col.done.adapter ? `adapter ${col.done.adapter.version}` : 'base model'}
                  </Badge>
                )}
              </Group>
              <Text style={{ whiteSpace: 'pre-wrap' }} data-testid={`side-text-${i}`}>
                <Text span c="dimmed">
                  {col.text || col.done ? prompt : ''}
                </Text>
                {col.text}
              </Text>
              {col.done?.adapter_fallback && (
                <Text size="xs" c="orange">
                  Fell back to the base model: {col.done.adapter_fallback.reason}
                </Text>
              )}
              {col.done && (
                <Text size="xs" c="dimmed" mt="xs">
                  {col.done.usage.completion_tokens} tokens · first token {col.done.timings_ms.first_token} ms
                  · {col.done.finish_reason}
                  {col.done.memory &&
                    ` · memory: ${col.done.memory.items.length} passage${col.done.memory.items.length === 1 ? '' : 's'}, ${col.done.memory.tokens} tokens`}
                </Text>
              )}
            </Paper>
          );
        })}
      </SimpleGrid>
    </Stack>
  );
}
