import { createRoute, lazyRouteComponent } from '@tanstack/react-router';
import { rootRoute } from './root';

export const trainingRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/training',
  component: lazyRouteComponent(() => import('../features/training/TrainingPage'), 'TrainingPage'),
});
