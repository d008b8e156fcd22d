// The route tree. Each page's route is a thin file under routes/; the pages live in features/. Hash history:
// the platform serves one index.html at /console/, on Node and from Workers' static assets alike.
import type { QueryClient } from '@tanstack/react-query';
import { createHashHistory, createRouter } from '@tanstack/react-router';
import { appsRoute } from './routes/apps';
import { auditRoute } from './routes/audit';
import { modelRoute } from './routes/model';
import { overviewRoute } from './routes/overview';
import { playgroundRoute } from './routes/playground';
import { rootRoute } from './routes/root';
import { stylesRoute } from './routes/styles';
import { trainingRoute } from './routes/training';
import { userRoute, usersRoute } from './routes/users';

const routeTree = rootRoute.addChildren([
  overviewRoute,
  appsRoute,
  usersRoute,
  userRoute,
  trainingRoute,
  playgroundRoute,
  stylesRoute,
  modelRoute,
  auditRoute,
]);

export function makeRouter(queryClient: QueryClient) {
  return createRouter({ routeTree, history: createHashHistory(), context: { queryClient } });
}

declare module '@tanstack/react-router' {
  interface Register {
    router: ReturnType<typeof makeRouter>;
  }
}
