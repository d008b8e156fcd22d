// The console's tables: a header row from a column list, a row per item, an empty state instead of an empty
// table. Loading and errors stay with QueryView (states.tsx), which every table sits in.
import {
  Table,
  type TableProps,
  type TableTdProps,
  type TableThProps,
  type TableTrProps,
} from '@mantine/core';
import type { ReactNode } from 'react';
import { Empty } from './states';

export interface Column<T> {
  /** The header cell's content; none for a column of row actions. */
  header?: ReactNode;
  cell: (row: T) => ReactNode;
  /** The header's and the cells' alignment (default: left); an empty header has nothing to align. */
  align?: 'left' | 'center' | 'right';
  /** The header cell's width, e.g. '30%'. */
  width?: TableThProps['w'];
  /** Styles of this column's body cells (`ff="monospace"`, `fw={600}`). */
  cellProps?: Omit<TableTdProps, 'children' | 'ta' | 'colSpan'>;
  /** How many columns this row's cell spans (default 1); the columns it covers render nothing for the row. */
  span?: (row: T) => number;
}

/** A row's own attributes: a click, a background, a `data-testid`. */
export type RowProps = Omit<TableTrProps, 'children'> & { [data: `data-${string}`]: string };

export interface DataTableProps<T> {
  columns: Column<T>[];
  rows: readonly T[];
  rowKey: (row: T) => string;
  /** Shown instead of the table when there are no rows: a title, or an element. None: the header alone. */
  empty?: string | ReactNode;
  /** Scrolls sideways below this width (px); none: no scroll container. */
  minWidth?: number;
  rowProps?: (row: T) => RowProps;
  highlightOnHover?: boolean;
  striped?: boolean;
  verticalSpacing?: TableProps['verticalSpacing'];
}

export function DataTable<T>({
  columns,
  rows,
  rowKey,
  empty,
  minWidth,
  rowProps,
  highlightOnHover,
  striped,
  verticalSpacing,
}: DataTableProps<T>) {
  if (rows.length === 0 && empty !== undefined)
    return typeof empty === 'string' ? <Empty title={empty} /> : empty;
  const table = (
    <Table
      {...(highlightOnHover ? { highlightOnHover } : {})}
      {...(striped ? { striped } : {})}
      {...(verticalSpacing !== undefined ? { verticalSpacing } : {})}
    >
      <Table.Thead>
        <Table.Tr>
          {columns.map((c, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: the columns are fixed; a header may be empty
            <Table.Th key={i} ta={c.header === undefined ? undefined : c.align} w={c.width}>
              {c.header}
            </Table.Th>
          ))}
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {rows.map((row) => (
          <Table.Tr key={rowKey(row)} {...rowProps?.(row)}>
            {cells(columns, row)}
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
  return minWidth === undefined ? (
    table
  ) : (
    <Table.ScrollContainer minWidth={minWidth}>{table}</Table.ScrollContainer>
  );
}

/** A row's cells, a spanning cell taking the place of the columns it covers. */
function cells<T>(columns: Column<T>[], row: T): ReactNode[] {
  const out: ReactNode[] = [];
  for (let i = 0; i < columns.length; ) {
    const c = columns[i] as Column<T>;
    const span = Math.max(1, Math.min(c.span?.(row) ?? 1, columns.length - i));
    out.push(
      <Table.Td key={i} ta={c.align} {...(span > 1 ? { colSpan: span } : {})} {...c.cellProps}>
        {c.cell(row)}
      </Table.Td>,
    );
    i += span;
  }
  return out;
}
