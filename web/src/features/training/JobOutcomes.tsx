// What a training job did for each user: promoted or rejected (held-out loss against the baseline), not
// published (why), or skipped (why).
import { Badge } from '@mantine/core';
import { type Column, DataTable } from '../../components/DataTable';
import { num } from '../../lib/format';
import type { TrainUsersResult } from '../../lib/types';

type Outcome =
  | { kind: 'trained'; r: TrainUsersResult['users'][number] }
  | { kind: 'failed'; user: string; reason: string }
  | { kind: 'skipped'; user: string; reason: string };

const key = (o: Outcome) =>
  o.kind === 'trained'
    ? `${o.r.user}-${o.r.version}`
    : o.kind === 'failed'
      ? `failed-${o.user}`
      : `skip-${o.user}`;

const columns: Column<Outcome>[] = [
  { header: 'User', cell: (o) => (o.kind === 'trained' ? o.r.user : o.user) },
  {
    header: 'Outcome',
    span: (o) => (o.kind === 'trained' ? 1 : 2),
    cell: (o) =>
      o.kind === 'trained' ? (
        <Badge color={o.r.status === 'active' ? 'teal' : 'orange'} variant="light">
          {o.r.status === 'active' ? `promoted ${o.r.version}` : `rejected ${o.r.version}`}
        </Badge>
      ) : o.kind === 'failed' ? (
        <>
          <Badge color="red" variant="light">
            not published
          </Badge>{' '}
          {o.reason}
        </>
      ) : (
        `skipped: ${o.reason}`
      ),
  },
  {
    header: 'Held-out loss',
    align: 'right',
    cell: (o) =>
      o.kind === 'trained' &&
      `${num(o.r.heldout_loss_after, 3)} vs ${num(o.r.baseline_heldout_loss, 3)} (${o.r.baseline})`,
  },
];

export function JobOutcomes({ result }: { result: TrainUsersResult }) {
  const rows: Outcome[] = [
    ...result.users.map((r) => ({ kind: 'trained' as const, r })),
    ...(result.failed ?? []).map((r) => ({ kind: 'failed' as const, user: r.user, reason: r.reason })),
    ...result.skipped.map((r) => ({ kind: 'skipped' as const, user: r.user, reason: r.reason })),
  ];
  if (!rows.length) return null;
  return <DataTable columns={columns} rows={rows} rowKey={key} />;
}
