// The effect of personalization: like-rates of personalized and held-out generations (the app's holdout
// experiment, settings `experiment.holdout_percent`) with their 95 % intervals, the difference, and a daily chart.
import { LineChart } from '@mantine/charts';
import { Badge, Group, Paper, SegmentedControl, SimpleGrid, Stack, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { ChartCard, Empty, QueryView } from '../../components/states';
import { api } from '../../lib/api';
import { num } from '../../lib/format';
import type { Effect } from '../../lib/types';
import { dailyRows, differenceText, isEmpty, rateText, verdict } from './effect';

const DAY_MS = 86_400_000;
type Days = '7' | '30' | '90';

export function EffectPanel({ appId }: { appId: string }) {
  const [days, setDays] = useState<Days>('30');
  const query = useQuery({
    queryKey: ['effect', appId, days],
    queryFn: () => {
      const to = new Date();
      const from = new Date(to.getTime() - Number(days) * DAY_MS);
      return api.get<Effect>(`/admin/apps/${appId}/effect`, {
        from: from.toISOString(),
        to: to.toISOString(),
      });
    },
  });
  return (
    <Stack>
      <Group justify="space-between">
        <Text fw={600}>Effect of personalization</Text>
        <SegmentedControl
          aria-label="Period"
          value={days}
          onChange={(v) => setDays(v as Days)}
          data={[
            { value: '7', label: '7 days' },
            { value: '30', label: '30 days' },
            { value: '90', label: '90 days' },
          ]}
        />
      </Group>
      <QueryView query={query}>{(e) => <EffectView e={e} />}</QueryView>
    </Stack>
  );
}

function Rate({ label, hint, value }: { label: string; hint: string; value: string }) {
  return (
    <Paper withBorder p="md" radius="md">
      <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
        {label}
      </Text>
      <Text fz={22} fw={700} data-testid={`effect-${label}`}>
        {value}
      </Text>
      <Text size="xs" c="dimmed">
        {hint}
      </Text>
    </Paper>
  );
}

const VERDICT = {
  better: { color: 'teal', text: 'liked more with personalization' },
  worse: { color: 'red', text: 'liked less with personalization' },
  unclear: { color: 'gray', text: 'not yet distinguishable from no effect' },
} as const;

function EffectView({ e }: { e: Effect }) {
  if (isEmpty(e))
    return (
      <Empty
        title={e.holdout_percent > 0 ? 'No generations in the experiment yet' : 'The holdout is off'}
        description={
          e.holdout_percent > 0
            ? `${e.holdout_percent} % of the requests of users with an adapter go to the base model; rates show here once they are generated and rated.`
            : 'Set "Held-out requests (%)" under Settings (for example 10): that share of the requests of users with an adapter is answered by the base model, and the like-rates of both are compared here.'
        }
      />
    );
  const v = verdict(e.difference);
  const armHint = (a: Effect['personalized']) =>
    `${num(a.likes)} likes of ${num(a.rated)} rated · ${num(a.generations)} generations`;
  return (
    <Stack>
      <SimpleGrid cols={{ base: 1, md: 3 }}>
        <Rate
          label="Personalized"
          value={rateText(e.personalized.like_rate, e.personalized.ci95)}
          hint={armHint(e.personalized)}
        />
        <Rate
          label="Held out"
          value={rateText(e.holdout.like_rate, e.holdout.ci95)}
          hint={`${armHint(e.holdout)} · base model`}
        />
        <Rate
          label="Difference"
          value={differenceText(e.difference)}
          hint={e.difference ? 'personalized − held out, 95 % interval' : 'needs ratings in both arms'}
        />
      </SimpleGrid>
      <Group gap="xs">
        {v && (
          <Badge color={VERDICT[v].color} variant="light">
            {VERDICT[v].text}
          </Badge>
        )}
        <Text size="xs" c="dimmed">
          Like-rates with 95 % intervals (Wilson; the difference by Newcombe). Holdout now:{' '}
          {e.holdout_percent} %.
        </Text>
      </Group>
      <ChartCard title="Like-rate per day (%)" hint="UTC days; a gap is a day without ratings in that arm">
        <LineChart
          h={220}
          data={dailyRows(e)}
          dataKey="day"
          withLegend
          connectNulls={false}
          yAxisProps={{ domain: [0, 100] }}
          series={[
            { name: 'Personalized', color: 'violet.6' },
            { name: 'Held out', color: 'gray.6' },
          ]}
        />
      </ChartCard>
    </Stack>
  );
}
