import { createRoute, lazyRouteComponent } from '@tanstack/react-router';
import { rootRoute } from './root';

export const playgroundRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/playground',
  component: lazyRouteComponent(() => import('../features/playground/PlaygroundPage'), 'PlaygroundPage'),
});
