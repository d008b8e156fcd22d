// One user: their adapter versions (held-out loss across versions, status, what each trained on), promote,
// roll back (after comparing both versions side by side) and erase; their feedback and generations.
import { LineChart } from '@mantine/charts';
import {
  Anchor,
  Badge,
  Button,
  Group,
  Modal,
  Paper,
  Select,
  SimpleGrid,
  Stack,
  Table,
  Tabs,
  Text,
  Timeline,
} from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useParams } from '@tanstack/react-router';
import { useState } from 'react';
import { SideBySide } from '../../components/SideBySide';
import { ChartCard, Empty, PageHeader, QueryView } from '../../components/states';
import { api } from '../../lib/api';
import { ago, dateTime, num } from '../../lib/format';
import type {
  ActiveFlip,
  AdapterItem,
  FeedbackItem,
  GenerationItem,
  Page,
  UserDetail,
} from '../../lib/types';
import { EraseUser } from './EraseUser';
import {
  driftDomain,
  driftRows,
  driftTolerance,
  generalChange,
  methodLabel,
  rollbackTarget,
  STATUS_COLOR,
  versionRows,
} from './versions';

export function UserPage() {
  const { app, user } = useParams({ from: '/users/$app/$user' });
  const qc = useQueryClient();
  const navigate = useNavigate();
  const detail = useQuery({
    queryKey: ['user', app, user],
    queryFn: () => api.get<UserDetail>(`/admin/apps/${app}/users/${encodeURIComponent(user)}`),
  });
  const adapters = useQuery({
    queryKey: ['adapters', app, user],
    queryFn: () => api.get<Page<AdapterItem>>(`/admin/apps/${app}/adapters`, { user, limit: 200 }),
  });
  const refresh = () => {
    qc.invalidateQueries({ queryKey: ['user', app, user] });
    qc.invalidateQueries({ queryKey: ['adapters', app, user] });
  };
  const erase = useMutation({
    mutationFn: () => api.send('DELETE', `/admin/apps/${app}/users/${encodeURIComponent(user)}`),
    onSuccess: () => {
      notifications.show({ color: 'teal', message: `${user} erased` });
      qc.invalidateQueries({ queryKey: ['users', app] });
      navigate({ to: '/users' });
    },
  });
  return (
    <>
      <PageHeader
        title={user}
        description={
          <>
            <Anchor component={Link} to="/users" size="sm">
              Users
            </Anchor>{' '}
            · {app}
          </>
        }
        actions={<EraseUser user={user} onErase={() => erase.mutate()} busy={erase.isPending} />}
      />
      <QueryView query={detail}>
        {(d) => (
          <SimpleGrid cols={{ base: 2, md: 5 }} mb="md">
            <Fact
              label="Active version"
              value={d.training_opted_out_at ? 'none (opted out of training)' : (d.active_version ?? 'none')}
              testid="active-version"
            />
            <Fact label="Versions" value={num(d.versions)} />
            <Fact
              label="Feedback"
              value={`${d.feedback.likes} likes · ${d.feedback.dislikes} dislikes · ${d.feedback.edits} edits`}
            />
            <Fact label="Generations" value={num(d.generations)} />
            <Fact label="Last seen" value={ago(d.last_seen)} />
          </SimpleGrid>
        )}
      </QueryView>
      <Tabs defaultValue="versions" keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="versions">Adapter versions</Tabs.Tab>
          <Tabs.Tab value="feedback">Feedback</Tabs.Tab>
          <Tabs.Tab value="generations">Generations</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="versions" pt="md">
          <QueryView query={adapters}>
            {(p) => <Versions app={app} user={user} adapters={p.items} onChange={refresh} />}
          </QueryView>
        </Tabs.Panel>
        <Tabs.Panel value="feedback" pt="md">
          <FeedbackTimeline app={app} user={user} adapters={adapters.data?.items ?? []} />
        </Tabs.Panel>
        <Tabs.Panel value="generations" pt="md">
          <Generations app={app} user={user} />
        </Tabs.Panel>
      </Tabs>
    </>
  );
}

function Fact({ label, value, testid }: { label: string; value: string; testid?: string }) {
  return (
    <Paper withBorder p="sm">
      <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
        {label}
      </Text>
      <Text fw={600} data-testid={testid}>
        {value}
      </Text>
    </Paper>
  );
}

function Versions({
  app,
  user,
  adapters,
  onChange,
}: {
  app: string;
  user: string;
  adapters: AdapterItem[];
  onChange: () => void;
}) {
  const [comparing, { open, close }] = useDisclosure();
  const flip = useMutation({
    mutationFn: (req: { kind: 'promote'; version: string } | { kind: 'rollback' }) =>
      req.kind === 'promote'
        ? api.send<ActiveFlip>('POST', '/admin/adapters/promote', { app, user, version: req.version })
        : api.send<ActiveFlip>('POST', '/admin/adapters/rollback', { app, user }),
    onSuccess: (r) => {
      notifications.show({ color: 'teal', message: `Version ${r.active.version} is active` });
      close();
      onChange();
    },
  });
  if (adapters.length === 0)
    return (
      <Empty
        title="No adapter yet"
        description="A training cycle makes one once this user has enough usable feedback (likes and edits)."
      />
    );
  const rows = versionRows(adapters);
  const drift = driftRows(adapters);
  const tolerance = driftTolerance(adapters);
  const active = adapters.find((a) => a.status === 'active') ?? null;
  const back = rollbackTarget(adapters);
  return (
    <Stack>
      <ChartCard
        title="Held-out loss across versions"
        hint="On the user's held-out feedback: lower fits the reader better. Each version is judged against the one active before it."
      >
        <LineChart
          h={240}
          data={rows}
          dataKey="version"
          withLegend
          connectNulls={false}
          yAxisProps={{ domain: ['auto', 'auto'] }}
          series={[
            { name: 'Base', color: 'gray.6' },
            { name: 'Previous version', color: 'orange.6' },
            { name: 'This version', color: 'violet.6' },
          ]}
        />
      </ChartCard>
      {drift.length > 0 && (
        <ChartCard
          title="General text across versions"
          hint="Each version's loss on windows of general text it never trained on, vs the base model (%). The trainer keeps a step only within the tolerance: personalization must not cost general English."
        >
          <LineChart
            h={180}
            data={drift}
            dataKey="version"
            unit="%"
            yAxisProps={{ domain: driftDomain(drift, tolerance), width: 56 }}
            series={[{ name: 'General text', color: 'teal.6' }]}
            referenceLines={
              tolerance === null ? [] : [{ y: tolerance, label: `tolerance +${tolerance} %`, color: 'red.6' }]
            }
          />
        </ChartCard>
      )}
      <Group>
        <Button variant="light" color="orange" disabled={!active || !back} onClick={open}>
          Roll back{back ? ` to ${back.version}` : ''}…
        </Button>
      </Group>
      <Table.ScrollContainer minWidth={640}>
        <Table>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Version</Table.Th>
              <Table.Th>Status</Table.Th>
              <Table.Th>Method</Table.Th>
              <Table.Th ta="right">Held-out loss</Table.Th>
              <Table.Th ta="right">General text</Table.Th>
              <Table.Th ta="right">Trained on / held out</Table.Th>
              <Table.Th>Created</Table.Th>
              <Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {adapters.map((a) => (
              <Table.Tr key={a.id} data-testid={`version-${a.version}`}>
                <Table.Td ff="monospace">{a.version}</Table.Td>
                <Table.Td>
                  <Badge
                    color={STATUS_COLOR[a.status] ?? 'gray'}
                    variant={a.status === 'active' ? 'filled' : 'light'}
                  >
                    {a.status}
                  </Badge>
                </Table.Td>
                <Table.Td>{methodLabel(a.metrics) ?? '—'}</Table.Td>
                <Table.Td ta="right">
                  {num(a.metrics.heldout_loss_after, 3)}
                  {a.metrics.baseline_heldout_loss !== undefined && (
                    <Text span size="xs" c="dimmed">
                      {' '}
                      vs {num(a.metrics.baseline_heldout_loss, 3)}
                    </Text>
                  )}
                </Table.Td>
                <Table.Td ta="right">{fmtChange(generalChange(a.metrics))}</Table.Td>
                <Table.Td ta="right">
                  {a.metrics.feedback_split
                    ? `${a.metrics.feedback_split.train.length} / ${a.metrics.feedback_split.heldout.length}`
                    : a.metrics.feedback
                      ? `${a.metrics.feedback.items} items`
                      : '—'}
                </Table.Td>
                <Table.Td>{ago(a.created_at)}</Table.Td>
                <Table.Td ta="right">
                  {a.status !== 'active' && a.status !== 'training' && (
                    <Button
                      size="xs"
                      variant="subtle"
                      onClick={() => flip.mutate({ kind: 'promote', version: a.version })}
                    >
                      Promote
                    </Button>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      <Modal opened={comparing} onClose={close} title={`Roll back ${user}`} size="xl">
        {active && back && (
          <Stack>
            <Text size="sm">
              Compare the active version {active.version} with {back.version}, which a rollback makes active
              again.
            </Text>
            <SideBySide
              app={app}
              user={user}
              sides={[
                { label: `Active: ${active.version}`, adapter: { version: active.version } },
                { label: `After rollback: ${back.version}`, adapter: { version: back.version } },
              ]}
            />
            <Group justify="flex-end">
              <Button
                color="orange"
                onClick={() => flip.mutate({ kind: 'rollback' })}
                loading={flip.isPending}
              >
                Roll back to {back.version}
              </Button>
            </Group>
          </Stack>
        )}
      </Modal>
    </Stack>
  );
}

function FeedbackTimeline({ app, user, adapters }: { app: string; user: string; adapters: AdapterItem[] }) {
  const feedback = useQuery({
    queryKey: ['feedback', app, user],
    queryFn: () => api.get<Page<FeedbackItem>>(`/admin/apps/${app}/feedback`, { user, limit: 200 }),
  });
  const withSplit = adapters.filter((a) => a.metrics.feedback_split);
  const [version, setVersion] = useState<string | null>(null);
  const split = withSplit.find((a) => a.version === (version ?? withSplit[0]?.version))?.metrics
    .feedback_split;
  const role = (id: string) =>
    split?.train.includes(id) ? 'trained on' : split?.heldout.includes(id) ? 'held out' : null;
  return (
    <QueryView query={feedback}>
      {(p) =>
        p.items.length === 0 ? (
          <Empty
            title="No feedback"
            description="Likes, dislikes and edits sent to /v1/feedback show here."
          />
        ) : (
          <Stack>
            {withSplit.length > 0 && (
              <Select
                label="Mark what this version trained on and was judged on"
                data={withSplit.map((a) => a.version)}
                value={version ?? withSplit[0]?.version ?? null}
                onChange={setVersion}
                maw={320}
              />
            )}
            <Timeline bulletSize={22} lineWidth={2}>
              {p.items.map((f) => (
                <Timeline.Item
                  key={f.id}
                  color={f.edited_text ? 'blue' : f.rating > 0 ? 'teal' : 'red'}
                  bullet={f.edited_text ? '✎' : f.rating > 0 ? '+' : '−'}
                  title={
                    <Group gap="xs">
                      <Text size="sm" fw={600}>
                        {f.edited_text ? 'Edited' : f.rating > 0 ? 'Liked' : 'Disliked'}
                      </Text>
                      <Text size="xs" c="dimmed">
                        {dateTime(f.created_at)}
                      </Text>
                      {role(f.id) && (
                        <Badge
                          size="xs"
                          variant="light"
                          color={role(f.id) === 'held out' ? 'orange' : 'violet'}
                        >
                          {role(f.id)}
                        </Badge>
                      )}
                    </Group>
                  }
                >
                  {f.prompt && (
                    <Text size="xs" c="dimmed">
                      {f.prompt}
                    </Text>
                  )}
                  <Text
                    size="sm"
                    td={f.edited_text ? 'line-through' : undefined}
                    c={f.edited_text ? 'dimmed' : undefined}
                  >
                    {f.text}
                  </Text>
                  {f.edited_text && <Text size="sm">{f.edited_text}</Text>}
                </Timeline.Item>
              ))}
            </Timeline>
          </Stack>
        )
      }
    </QueryView>
  );
}

function Generations({ app, user }: { app: string; user: string }) {
  const gens = useQuery({
    queryKey: ['generations', app, user],
    queryFn: () => api.get<Page<GenerationItem>>(`/admin/apps/${app}/generations`, { user, limit: 50 }),
  });
  return (
    <QueryView query={gens}>
      {(p) =>
        p.items.length === 0 ? (
          <Empty title="No generations" />
        ) : (
          <Stack gap="xs">
            {p.items.map((g) => (
              <Paper key={g.id} withBorder p="sm">
                <Group justify="space-between" mb={4}>
                  <Badge variant="light" color={g.adapter_version ? 'violet' : 'gray'}>
                    {g.adapter_version ? `adapter ${g.adapter_version}` : 'base model'}
                  </Badge>
                  <Text size="xs" c="dimmed">
                    {dateTime(g.created_at)} · {g.usage.completion_tokens} tokens · {g.finish_reason}
                  </Text>
                </Group>
                <Text size="sm" style={{ whiteSpace: 'pre-wrap' }}>
                  <Text span c="dimmed">
                    {g.prompt}
                  </Text>
                  {g.text}
                </Text>
              </Paper>
            ))}
          </Stack>
        )
      }
    </QueryView>
  );
}

const fmtChange = (x: number | null) => (x === null ? '—' : `${x > 0 ? '+' : ''}${x.toFixed(2)} %`);
