import { createRoute, lazyRouteComponent } from '@tanstack/react-router';
import { rootRoute } from './root';

export const stylesRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/styles',
  component: lazyRouteComponent(() => import('../features/styles/StylesPage'), 'StylesPage'),
});
