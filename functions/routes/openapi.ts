// GET /openapi.json (OpenAPI 3.0, built from the zod contracts) and GET /docs (an interactive page over it).
import { Hono } from 'hono';
import { type ContractName, jsonSchemas } from '../../schema/contracts.js';
import type { HonoEnv } from '../http/services.js';
import { DOCS_HTML } from './docs-page.js';

type Op = {
  method: 'get' | 'post' | 'delete';
  path: string;
  summary: string;
  auth: 'app' | 'admin' | 'none';
  body?: ContractName;
  query?: ContractName;
  ok: [number, ContractName | null, string?];
};

const user = { name: 'user', in: 'path', required: true, schema: { type: 'string' } };
const app = { name: 'app', in: 'path', required: true, schema: { type: 'string' } };

const OPS: (Op & { params?: object[] })[] = [
  {
    method: 'post',
    path: '/v1/generate',
    summary: 'Generate text for a user (stream: true → Server-Sent Events: token…, done)',
    auth: 'app',
    body: 'GenerateRequest',
    ok: [200, 'GenerateResponse'],
  },
  {
    method: 'post',
    path: '/v1/score',
    summary: "Negative log-likelihood of texts under the user's adapter",
    auth: 'app',
    body: 'ScoreRequest',
    ok: [200, 'ScoreResponse'],
  },
  {
    method: 'post',
    path: '/v1/feedback',
    summary: 'Rate a generation or a text (idempotent with idempotency_key: 201 new, 200 seen)',
    auth: 'app',
    body: 'FeedbackRequest',
    ok: [201, 'FeedbackResponse'],
  },
  {
    method: 'get',
    path: '/v1/users/{user}/adapter',
    summary: "The user's active adapter, with a download link",
    auth: 'app',
    params: [user],
    ok: [200, 'UserAdapterResponse'],
  },
  {
    method: 'delete',
    path: '/v1/users/{user}',
    summary: "Erase the user's generations, feedback, adapters and files",
    auth: 'app',
    params: [user],
    ok: [204, null],
  },
  {
    method: 'post',
    path: '/admin/apps',
    summary: 'Create an app: its API key and signing secret are shown once',
    auth: 'admin',
    body: 'CreateAppRequest',
    ok: [201, 'CreateAppResponse'],
  },
  {
    method: 'get',
    path: '/admin/apps/{app}/users',
    summary: "An app's users",
    auth: 'admin',
    params: [app],
    query: 'ListUsersQuery',
    ok: [200, 'ListUsersResponse'],
  },
  {
    method: 'get',
    path: '/admin/apps/{app}/feedback',
    summary: "An app's feedback",
    auth: 'admin',
    params: [app],
    query: 'ListFeedbackQuery',
    ok: [200, 'ListFeedbackResponse'],
  },
  {
    method: 'get',
    path: '/admin/apps/{app}/adapters',
    summary: "An app's adapter versions",
    auth: 'admin',
    params: [app],
    query: 'ListAdaptersQuery',
    ok: [200, 'ListAdaptersResponse'],
  },
  {
    method: 'post',
    path: '/admin/apps/{app}/generate',
    summary: 'Generate as any user with any adapter version (compare outputs)',
    auth: 'admin',
    params: [app],
    body: 'GenerateRequest',
    ok: [200, 'GenerateResponse'],
  },
  {
    method: 'get',
    path: '/admin/jobs',
    summary: 'Training jobs',
    auth: 'admin',
    query: 'ListJobsQuery',
    ok: [200, 'ListJobsResponse'],
  },
  {
    method: 'post',
    path: '/admin/training/run',
    summary: 'Run a training cycle now (wait: true answers when it has finished)',
    auth: 'admin',
    body: 'TrainingRunRequest',
    ok: [200, 'TrainingRunResponse'],
  },
  {
    method: 'post',
    path: '/admin/adapters/promote',
    summary: 'Make a version the active one',
    auth: 'admin',
    body: 'PromoteRequest',
    ok: [200, 'ActiveFlipResponse'],
  },
  {
    method: 'post',
    path: '/admin/adapters/rollback',
    summary: 'Go back to the version active before',
    auth: 'admin',
    body: 'RollbackRequest',
    ok: [200, 'ActiveFlipResponse'],
  },
  { method: 'get', path: '/healthz', summary: 'Health', auth: 'none', ok: [200, null, 'ok'] },
  {
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics',
    auth: 'none',
    ok: [200, null, 'text/plain'],
  },
];

const ref = (name: ContractName) => ({ $ref: `#/components/schemas/${name}` });

export function openApiDocument(schemas = jsonSchemas()): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPS) {
    const query = op.query ? (schemas[op.query].properties as Record<string, object> | undefined) : undefined;
    const parameters = [
      ...(op.params ?? []),
      ...Object.entries(query ?? {}).map(([name, schema]) => ({
        name,
        in: 'query',
        required: false,
        schema,
      })),
    ];
    const [status, schema, description] = op.ok;
    paths[op.path] ??= {};
    (paths[op.path] as Record<string, unknown>)[op.method] = {
      summary: op.summary,
      ...(op.auth === 'none'
        ? { security: [] }
        : { security: [{ [op.auth === 'admin' ? 'admin' : 'bearer']: [] }] }),
      ...(parameters.length ? { parameters } : {}),
      ...(op.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: ref(op.body) } } } }
        : {}),
      responses: {
        [status]: {
          description: description ?? 'OK',
          ...(schema ? { content: { 'application/json': { schema: ref(schema) } } } : {}),
        },
        default: { description: 'Error', content: { 'application/json': { schema: ref('Error') } } },
      },
    };
  }
  return {
    openapi: '3.0.3',
    info: {
      title: 'Tailor API',
      version: '1.0.0',
      description:
        'Per-user LoRA adapters on a shared story model. Authenticate with an app API key (server to server, ' +
        'the body names `user`) or a user token (JWT HS256 signed with the app signing secret, `sub` = user, `exp` required).',
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'App API key or user token' },
        admin: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' },
      },
      schemas,
    },
    security: [{ bearer: [] }],
    paths,
  };
}

export function openApiRoutes() {
  let doc: Record<string, unknown> | undefined;
  return new Hono<HonoEnv>()
    .get('/openapi.json', (c) => {
      doc ??= openApiDocument();
      return c.json(doc);
    })
    .get('/docs', (c) => c.html(DOCS_HTML));
}
