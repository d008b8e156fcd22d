// Loading, empty and error states, the same on every page. Errors themselves are notified once, centrally
// (lib/errors.ts); a page only says that its data could not be loaded.
import { Alert, Center, EmptyState, Group, Loader, Paper, Text, Title } from '@mantine/core';
import type { UseQueryResult } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { describeError } from '../lib/errors';

export function PageHeader({
  title,
  description,
  actions,
}: {
  title: string;
  description?: ReactNode;
  actions?: ReactNode;
}) {
  return (
    <Group justify="space-between" align="flex-end" mb="md" wrap="wrap">
      <div>
        <Title order={2}>{title}</Title>
        {description && (
          <Text c="dimmed" size="sm">
            {description}
          </Text>
        )}
      </div>
      {actions && <Group gap="sm">{actions}</Group>}
    </Group>
  );
}

export function Empty({
  title,
  description,
  children,
}: {
  title: string;
  description?: ReactNode;
  children?: ReactNode;
}) {
  return (
    <Paper withBorder p="xl">
      <EmptyState title={title} description={description}>
        {children && <EmptyState.Actions>{children}</EmptyState.Actions>}
      </EmptyState>
    </Paper>
  );
}

/** Renders `children` with the query's data; a loader before, a short notice when it failed. */
export function QueryView<T>({
  query,
  children,
}: {
  query: UseQueryResult<T>;
  children: (data: T) => ReactNode;
}) {
  if (query.isPending)
    return (
      <Center p="xl" aria-busy="true">
        <Loader />
      </Center>
    );
  if (query.isError)
    return (
      <Alert color="red" title="Could not load this">
        {describeError(query.error)}
      </Alert>
    );
  return <>{children(query.data)}</>;
}

export function ChartCard({
  title,
  hint,
  children,
}: {
  title: string;
  hint?: ReactNode;
  children: ReactNode;
}) {
  return (
    <Paper withBorder p="md" radius="md">
      <Text fw={600}>{title}</Text>
      {hint && (
        <Text size="xs" c="dimmed" mb="xs">
          {hint}
        </Text>
      )}
      {children}
    </Paper>
  );
}

export function NeedApp() {
  return (
    <Empty
      title="No app yet"
      description="Create an app on the Apps page; its users, feedback and adapters show here."
    />
  );
}
