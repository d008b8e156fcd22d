import type { QueryClient } from '@tanstack/react-query';
import { createRootRouteWithContext } from '@tanstack/react-router';
import { Shell } from '../features/layout/Shell';

export const rootRoute = createRootRouteWithContext<{ queryClient: QueryClient }>()({ component: Shell });
