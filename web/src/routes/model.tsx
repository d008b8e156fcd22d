import { createRoute, lazyRouteComponent } from '@tanstack/react-router';
import { rootRoute } from './root';

export const modelRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/model',
  component: lazyRouteComponent(() => import('../features/model/ModelPage'), 'ModelPage'),
});
