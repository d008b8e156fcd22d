// The sign-in screen: the admin token `npm start` prints (or ADMIN_TOKEN), checked against the API before it
// is kept in this tab's session storage.
import { Alert, Button, Center, Code, Paper, PasswordInput, Stack, Text, Title } from '@mantine/core';
import { useState } from 'react';
import { ApiError, api } from '../../lib/api';
import { session } from '../../lib/session';

export function SignIn() {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.check(token.trim());
      session.signIn(token.trim());
    } catch (err) {
      setError(
        err instanceof ApiError && (err.status === 401 || err.status === 403)
          ? 'This token is not the admin token of this platform.'
          : err instanceof Error
            ? err.message
            : String(err),
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <Center mih="100vh" p="md">
      <Paper withBorder shadow="sm" p="xl" w={420} maw="100%">
        <form onSubmit={submit}>
          <Stack>
            <Title order={2}>Tailor console</Title>
            <Text c="dimmed" size="sm">
              Sign in with the admin token: <Code>npm start</Code> prints one (<Code>ADMIN_TOKEN=…</Code>)
              unless you set your own.
            </Text>
            <PasswordInput
              label="Admin token"
              value={token}
              onChange={(e) => setToken(e.currentTarget.value)}
              autoFocus
              required
              autoComplete="off"
            />
            {error && (
              <Alert color="red" role="alert" title="Not signed in">
                {error}
              </Alert>
            )}
            <Button type="submit" loading={busy} disabled={!token.trim()}>
              Sign in
            </Button>
          </Stack>
        </form>
      </Paper>
    </Center>
  );
}
