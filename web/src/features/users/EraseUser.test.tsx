import { fireEvent, screen } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { renderWithMantine } from '../../test-utils';
import { EraseUser } from './EraseUser';

describe('EraseUser', () => {
  it('erases only once the user id is typed again exactly', async () => {
    const onErase = vi.fn();
    renderWithMantine(<EraseUser user="ada" onErase={onErase} />);
    fireEvent.click(screen.getByRole('button', { name: 'Erase user' }));
    const confirm = await screen.findByRole('button', { name: 'Erase ada' });
    expect((confirm as HTMLButtonElement).disabled).toBe(true);
    const input = screen.getByLabelText('Type the user id to confirm');
    fireEvent.change(input, { target: { value: 'Ada' } });
    expect((confirm as HTMLButtonElement).disabled).toBe(true);
    fireEvent.change(input, { target: { value: 'ada' } });
    expect((confirm as HTMLButtonElement).disabled).toBe(false);
    fireEvent.click(confirm);
    expect(onErase).toHaveBeenCalledOnce();
  });
});
