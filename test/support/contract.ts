// Holds every answer the route tests get to the route's own definition: the status must be one the route
// documents, and a JSON body must parse with the schema documented for that status. The definitions are the
// ones /openapi.json is made from (the app's OpenAPI registry), so a route cannot answer what it does not say.
import type { z } from 'zod';
import type { Routes } from '../../functions/http/openapi.js';

interface RouteDefinition {
  method: string;
  path: string;
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
}

export function routeDefinitions(app: Routes): RouteDefinition[] {
  return app.openAPIRegistry.definitions.flatMap((d) =>
    d.type === 'route' ? [d.route as unknown as RouteDefinition] : [],
  );
}

function matcher(path: string, lastTakesRest: boolean): RegExp {
  const parts = path.split(/\{[^}]+\}/);
  const params = (path.match(/\{[^}]+\}/g) ?? []).length;
  const body = parts
    .map(
      (p, i) =>
        p.replace(/[.*+?^$()|[\]\\]/g, '\\$&') +
        (i < params ? (lastTakesRest && i === params - 1 ? '(.+)' : '([^/]+)') : ''),
    )
    .join('');
  return new RegExp(`^${body}$`);
}

export function findRoute(app: Routes, method: string, path: string): RouteDefinition | undefined {
  const defs = routeDefinitions(app).filter((d) => d.method.toUpperCase() === method.toUpperCase());
  return (
    defs.find((d) => matcher(d.path, false).test(path)) ?? defs.find((d) => matcher(d.path, true).test(path))
  );
}

/** Throws when the answer is not what the route documents. Unmatched paths (404 no route) pass. */
export function checkAnswer(
  app: Routes,
  req: { method: string; path: string },
  res: { status: number; type: string; json: unknown },
): void {
  const route = findRoute(app, req.method, req.path.split('?')[0] as string);
  if (!route) return;
  const where = `${req.method} ${route.path} → ${res.status}`;
  const doc = route.responses[String(res.status)] ?? route.responses.default;
  if (!doc) throw new Error(`${where}: the route does not document this status`);
  const media = res.type.split(';')[0]?.trim() ?? '';
  if (!doc.content) {
    if (res.status !== 204) throw new Error(`${where}: documented without a body, answered ${media}`);
    return;
  }
  const entry = doc.content[media];
  if (!entry)
    throw new Error(`${where}: answered ${media}, documents ${Object.keys(doc.content).join(', ')}`);
  if (media === 'application/json') {
    const parsed = (entry.schema as z.ZodType).safeParse(res.json);
    if (!parsed.success) {
      throw new Error(
        `${where}: the body does not match its schema: ${JSON.stringify(parsed.error.issues).slice(0, 600)}`,
      );
    }
  }
}
