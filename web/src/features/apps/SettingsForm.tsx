// An app's settings: what is in force, what the app set (marked), saved as a merge patch of what changed.
import {
  Badge,
  Button,
  Group,
  NumberInput,
  SegmentedControl,
  Select,
  SimpleGrid,
  Stack,
  TagsInput,
  Text,
  Title,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { QueryView } from '../../components/states';
import { api } from '../../lib/api';
import type { AppSettingsPatch, AppSettingsResponse } from '../../lib/types';
import { useModels } from '../model/useModels';
import { diffPatch, type SettingsValues, toValues } from './settings';

export function SettingsForm({ appId }: { appId: string }) {
  const query = useQuery({
    queryKey: ['settings', appId],
    queryFn: () => api.get<AppSettingsResponse>(`/admin/apps/${appId}/settings`),
  });
  return <QueryView query={query}>{(s) => <Form appId={appId} s={s} />}</QueryView>;
}

function Form({ appId, s }: { appId: string; s: AppSettingsResponse }) {
  const initial = toValues(s.settings);
  const [v, setV] = useState<SettingsValues>(initial);
  const models = useModels();
  useEffect(() => setV(toValues(s.settings)), [s]);
  const qc = useQueryClient();
  const save = useMutation({
    mutationFn: (patch: AppSettingsPatch) =>
      api.send<AppSettingsResponse>('PATCH', `/admin/apps/${appId}/settings`, patch),
    onSuccess: (next) => {
      qc.setQueryData(['settings', appId], next);
      notifications.show({ color: 'teal', message: 'Settings saved' });
    },
  });
  const patch = diffPatch(initial, v);
  const changed = Object.keys(patch).length > 0;
  const own = (section: keyof AppSettingsResponse['overrides'], field: string) =>
    (s.overrides[section] as Record<string, unknown> | undefined)?.[field] !== undefined ? (
      <Badge size="xs" variant="light">
        set by the app
      </Badge>
    ) : null;
  const n = (key: keyof SettingsValues) => (x: number | string) => setV({ ...v, [key]: Number(x) || 0 });
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate(patch);
      }}
    >
      <Stack>
        <Title order={5}>Training</Title>
        <SimpleGrid cols={{ base: 1, sm: 3 }}>
          <div>
            <Group gap="xs">
              <Text size="sm" fw={500}>
                Schedule
              </Text>
              {own('training', 'schedule')}
            </Group>
            <SegmentedControl
              value={v.schedule}
              onChange={(x) => setV({ ...v, schedule: x as 'auto' | 'manual' })}
              data={[
                { value: 'auto', label: 'Scheduled cycles' },
                { value: 'manual', label: 'Manual only' },
              ]}
            />
          </div>
          <NumberInput
            label="New feedback that makes a user due"
            min={1}
            value={v.min_feedback}
            onChange={n('min_feedback')}
            rightSection={own('training', 'min_feedback')}
          />
          <NumberInput
            label="Cool-down after training (s)"
            min={0}
            value={v.cooldown_s}
            onChange={n('cooldown_s')}
          />
        </SimpleGrid>
        <Title order={5}>Rate limits (per minute, 0: none)</Title>
        <SimpleGrid cols={{ base: 1, sm: 3 }}>
          <NumberInput label="Per API key" min={0} value={v.per_minute} onChange={n('per_minute')} />
          <NumberInput
            label="Per user"
            min={0}
            value={v.per_user_per_minute}
            onChange={n('per_user_per_minute')}
          />
        </SimpleGrid>
        <Title order={5}>Retention (days, 0: kept)</Title>
        <SimpleGrid cols={{ base: 1, sm: 3 }}>
          <NumberInput
            label="Generations"
            min={0}
            value={v.generations_days}
            onChange={n('generations_days')}
          />
          <NumberInput label="Feedback" min={0} value={v.feedback_days} onChange={n('feedback_days')} />
        </SimpleGrid>
        <Title order={5}>Serving</Title>
        <SimpleGrid cols={{ base: 1, sm: 2 }}>
          <TagsInput
            label="Browser origins allowed to call /v1"
            placeholder="https://app.example.com"
            value={v.allowed_origins}
            onChange={(x) => setV({ ...v, allowed_origins: x })}
          />
          <div>
            <Text size="sm" fw={500}>
              Adapter when a request names none
            </Text>
            <SegmentedControl
              value={v.adapter}
              onChange={(x) => setV({ ...v, adapter: x as 'auto' | 'none' })}
              data={[
                { value: 'auto', label: "The user's own" },
                { value: 'none', label: 'Base model' },
              ]}
            />
          </div>
          <div>
            <Text size="sm" fw={500}>
              Memory when a request says nothing of it
            </Text>
            <SegmentedControl
              value={v.memory}
              onChange={(x) => setV({ ...v, memory: x as 'auto' | 'none' })}
              data={[
                { value: 'none', label: 'Off' },
                { value: 'auto', label: "The user's own passages" },
              ]}
            />
          </div>
        </SimpleGrid>
        <Title order={5}>Model</Title>
        <SimpleGrid cols={{ base: 1, sm: 3 }}>
          <Select
            label="Base model"
            description="What a request that names no model runs on"
            data={(models.data?.models ?? []).map((m) => m.id)}
            value={v.base}
            onChange={(x) => x && setV({ ...v, base: x })}
            allowDeselect={false}
            rightSection={own('model', 'base')}
          />
        </SimpleGrid>
        <Title order={5}>Experiment</Title>
        <SimpleGrid cols={{ base: 1, sm: 3 }}>
          <NumberInput
            label="Held-out requests (%)"
            description="Answered by the base model, to measure the effect of personalization"
            min={0}
            max={50}
            value={v.holdout_percent}
            onChange={n('holdout_percent')}
            rightSection={own('experiment', 'holdout_percent')}
          />
        </SimpleGrid>
        <Group>
          <Button type="submit" disabled={!changed} loading={save.isPending}>
            Save changes
          </Button>
          <Button variant="subtle" disabled={!changed} onClick={() => setV(initial)}>
            Discard
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
