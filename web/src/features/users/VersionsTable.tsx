// A user's adapter versions, newest first: status, method, held-out loss against its baseline, the change on
// general text, what it trained on, and a promote button for each version that can be made active.
import { Badge, Button, Text } from '@mantine/core';
import { type Column, DataTable } from '../../components/DataTable';
import { ago, num } from '../../lib/format';
import type { AdapterItem } from '../../lib/types';
import { generalChange, methodLabel, STATUS_COLOR } from './versions';

const fmtChange = (x: number | null) => (x === null ? '—' : `${x > 0 ? '+' : ''}${x.toFixed(2)} %`);

export function VersionsTable({
  adapters,
  onPromote,
}: {
  adapters: AdapterItem[];
  onPromote: (version: string) => void;
}) {
  const columns: Column<AdapterItem>[] = [
    { header: 'Version', cell: (a) => a.version, cellProps: { ff: 'monospace' } },
    {
      header: 'Status',
      cell: (a) => (
        <Badge color={STATUS_COLOR[a.status] ?? 'gray'} variant={a.status === 'active' ? 'filled' : 'light'}>
          {a.status}
        </Badge>
      ),
    },
    { header: 'Method', cell: (a) => methodLabel(a.metrics) ?? '—' },
    {
      header: 'Held-out loss',
      align: 'right',
      cell: (a) => (
        <>
          {num(a.metrics.heldout_loss_after, 3)}
          {a.metrics.baseline_heldout_loss !== undefined && (
            <Text span size="xs" c="dimmed">
              {' '}
              vs {num(a.metrics.baseline_heldout_loss, 3)}
            </Text>
          )}
        </>
      ),
    },
    { header: 'General text', align: 'right', cell: (a) => fmtChange(generalChange(a.metrics)) },
    {
      header: 'Trained on / held out',
      align: 'right',
      cell: (a) =>
        a.metrics.feedback_split
          ? `${a.metrics.feedback_split.train.length} / ${a.metrics.feedback_split.heldout.length}`
          : a.metrics.feedback
            ? `${a.metrics.feedback.items} items`
            : '—',
    },
    { header: 'Created', cell: (a) => ago(a.created_at) },
    {
      align: 'right',
      cell: (a) =>
        a.status !== 'active' &&
        a.status !== 'training' && (
          <Button size="xs" variant="subtle" onClick={() => onPromote(a.version)}>
            Promote
          </Button>
        ),
    },
  ];
  return (
    <DataTable
      columns={columns}
      rows={adapters}
      rowKey={(a) => a.id}
      rowProps={(a) => ({ 'data-testid': `version-${a.version}` })}
      minWidth={640}
    />
  );
}
