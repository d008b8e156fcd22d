// Every published base, the default marked: its family, served context, size and what its import measured.
import { Badge, Group, Text } from '@mantine/core';
import { type Column, DataTable } from '../../components/DataTable';
import { ago, num } from '../../lib/format';
import type { BaseModelItem, ModelsList } from '../../lib/types';
import { bitsPerByte, millions, parity, reportOf } from './report';

/** `shipped`: the default base's card, for the parameters of a base no import measured. */
export function BasesTable({
  list,
  shipped,
}: {
  list: ModelsList;
  shipped?: { id: string; params: number };
}) {
  const params = (b: BaseModelItem) =>
    reportOf(b)?.params ?? (shipped && b.id === shipped.id ? shipped.params : undefined);
  const columns: Column<BaseModelItem>[] = [
    {
      header: 'Base',
      cell: (b) => (
        <Group gap="xs" wrap="nowrap">
          <Text size="sm" ff="monospace" fw={600}>
            {b.id}
          </Text>
          {b.id === list.default && (
            <Badge size="sm" variant="light" data-testid="default-base">
              default
            </Badge>
          )}
        </Group>
      ),
    },
    { header: 'Family', cell: (b) => b.family },
    { header: 'Context', cell: (b) => num(b.context), align: 'right' },
    { header: 'Parameters', cell: (b) => millions(params(b)), align: 'right' },
    { header: 'Parity (max |Δlogits|)', cell: (b) => parity(reportOf(b)), align: 'right' },
    { header: 'Bits per byte', cell: (b) => bitsPerByte(reportOf(b)), align: 'right' },
    { header: 'Source', cell: (b) => reportOf(b)?.source_dtype ?? 'shipped' },
    { header: 'Published', cell: (b) => ago(b.created_at) },
  ];
  return (
    <DataTable
      columns={columns}
      rows={list.models}
      rowKey={(b) => b.id}
      minWidth={760}
      empty="No base models published"
      rowProps={(b) => ({ 'data-testid': `base-${b.id}` })}
    />
  );
}
