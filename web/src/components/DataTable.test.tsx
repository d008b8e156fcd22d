import { fireEvent, screen, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { renderWithMantine } from '../test-utils';
import { type Column, DataTable } from './DataTable';

interface Row {
  id: string;
  n: number;
  note?: string;
}
const columns: Column<Row>[] = [
  { header: 'Id', cell: (r) => r.id, cellProps: { ff: 'monospace' } },
  { header: 'Note', cell: (r) => r.note ?? '', span: (r) => (r.note ? 2 : 1) },
  { header: 'Count', cell: (r) => String(r.n), align: 'right' },
  { cell: (r) => <button type="button">Open {r.id}</button> },
];

describe('DataTable', () => {
  it('renders a header row from the columns and a row per item, in order', () => {
    renderWithMantine(
      <DataTable
        columns={columns}
        rows={[
          { id: 'a', n: 1 },
          { id: 'b', n: 22 },
        ]}
        rowKey={(r) => r.id}
      />,
    );
    const headers = screen.getAllByRole('columnheader').map((h) => h.textContent);
    expect(headers).toEqual(['Id', 'Note', 'Count', '']);
    const rows = screen.getAllByRole('row').slice(1);
    expect(
      rows.map((r) =>
        within(r)
          .getAllByRole('cell')
          .map((c) => c.textContent),
      ),
    ).toEqual([
      ['a', '', '1', 'Open a'],
      ['b', '', '22', 'Open b'],
    ]);
    expect(screen.getByRole('cell', { name: '22' }).style.textAlign).toBe('right');
    expect(screen.getByRole('columnheader', { name: 'Count' }).style.textAlign).toBe('right');
  });

  it('lets a cell span the columns after it', () => {
    renderWithMantine(
      <DataTable columns={columns} rows={[{ id: 'a', n: 1, note: 'skipped' }]} rowKey={(r) => r.id} />,
    );
    const cells = screen.getAllByRole('cell');
    expect(cells.map((c) => c.textContent)).toEqual(['a', 'skipped', 'Open a']);
    expect(cells[1]?.getAttribute('colspan')).toBe('2');
  });

  it('shows the empty state instead of a table, or the header alone when it has none', () => {
    const { unmount } = renderWithMantine(
      <DataTable columns={columns} rows={[]} rowKey={(r) => r.id} empty="Nothing here" />,
    );
    expect(screen.getByText('Nothing here')).toBeTruthy();
    expect(screen.queryByRole('table')).toBeNull();
    unmount();
    renderWithMantine(<DataTable columns={columns} rows={[]} rowKey={(r) => r.id} />);
    expect(screen.getAllByRole('row')).toHaveLength(1);
  });

  it("passes a row's own attributes on", () => {
    const onClick = vi.fn();
    renderWithMantine(
      <DataTable
        columns={columns}
        rows={[{ id: 'a', n: 1 }]}
        rowKey={(r) => r.id}
        rowProps={(r) => ({ onClick: () => onClick(r.id), 'data-testid': `row-${r.id}` })}
      />,
    );
    fireEvent.click(screen.getByTestId('row-a'));
    expect(onClick).toHaveBeenCalledWith('a');
  });
});
