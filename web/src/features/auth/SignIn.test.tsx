// The sign-in screen against a stubbed fetch: a refused token is not kept and says why; an accepted one is
// kept in session storage only.
import { fireEvent, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { session } from '../../lib/session';
import { renderWithMantine } from '../../test-utils';
import { SignIn } from './SignIn';

const answer = (status: number, body: unknown) =>
  vi.fn(
    async (_url: string, _init?: RequestInit) =>
      new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } }),
  );

afterEach(() => vi.unstubAllGlobals());

describe('SignIn', () => {
  it('refuses a wrong token with a message and keeps nothing', async () => {
    const fetch = answer(403, { error: { code: 'forbidden', message: 'this route needs the admin token' } });
    vi.stubGlobal('fetch', fetch);
    renderWithMantine(<SignIn />);
    fireEvent.change(screen.getByLabelText(/Admin token/), { target: { value: 'wrong' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect((await screen.findByRole('alert')).textContent).toContain('not the admin token');
    expect(session.token()).toBeNull();
    expect(fetch.mock.calls[0]?.[0]).not.toContain('wrong'); // the token travels in a header, not the URL
  });

  it('keeps an accepted token in session storage', async () => {
    vi.stubGlobal('fetch', answer(200, { items: [], next_cursor: null }));
    renderWithMantine(<SignIn />);
    fireEvent.change(screen.getByLabelText(/Admin token/), { target: { value: ' adm_good ' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    await waitFor(() => expect(session.token()).toBe('adm_good'));
    expect(sessionStorage.getItem('tailor.admin-token')).toBe('adm_good');
    expect(localStorage.length).toBe(0);
  });
});
