import { createRoute, lazyRouteComponent } from '@tanstack/react-router';
import { rootRoute } from './root';

export const usersRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/users',
  component: lazyRouteComponent(() => import('../features/users/UsersPage'), 'UsersPage'),
});
export const userRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/users/$app/$user',
  component: lazyRouteComponent(() => import('../features/users/UserPage'), 'UserPage'),
});
