// The webhook routes (/v1/webhooks, and the console's /admin/apps/{app}/webhooks) as zod schemas, and the
// event a delivery carries (docs/api.md, "Webhooks").

import { z } from 'zod';
import { webhookDeliveryStatuses, webhookEventTypes, webhookSignatureSchemes } from './tables.js';

export const webhookEventType = z.enum(webhookEventTypes);

/** Register an endpoint. `events` left out: every event. */
export const webhookCreateRequest = z
  .strictObject({
    url: z.string().min(1).max(2048).describe('http or https, at most 2048 characters'),
    events: z.array(webhookEventType).min(1).max(webhookEventTypes.length).optional(),
  })
  .meta({ id: 'WebhookCreateRequest' });
export type WebhookCreateRequest = z.infer<typeof webhookCreateRequest>;

export const webhookEndpointItem = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(webhookEventType),
    signature_scheme: z
      .enum(webhookSignatureSchemes)
      .describe(
        '`standard`: Standard Webhooks headers only; `legacy` (registered before them, until its secret is ' +
          'rotated): also the deprecated Tailor-Signature',
      ),
    previous_secret_until: z
      .string()
      .nullable()
      .describe('until when the secret replaced by the last rotation still signs beside the current one'),
    created_at: z.string(),
  })
  .meta({ id: 'WebhookEndpoint' });

const secretField = z
  .string()
  .describe(
    '`whsec_` + base64 of the 32-byte HMAC key (Standard Webhooks): the webhook-signature of every delivery. ' +
      'Shown this once',
  );

/** 201: the endpoint with its signing secret, shown in this answer only. */
export const webhookCreateResponse = webhookEndpointItem
  .extend({ secret: secretField })
  .meta({ id: 'WebhookCreated' });

/** The longest a replaced secret may keep signing: a week. */
export const MAX_SECRET_OVERLAP_S = 604_800;
/** How long it keeps signing when the rotation does not say: a day. */
export const DEFAULT_SECRET_OVERLAP_S = 86_400;

/** Rotate an endpoint's secret. No body: the default overlap. */
export const webhookRotateRequest = z
  .strictObject({
    overlap_s: z
      .number()
      .int()
      .min(0)
      .max(MAX_SECRET_OVERLAP_S)
      .optional()
      .describe(
        `seconds the replaced secret keeps signing beside the new one (0: stops at once); default ${DEFAULT_SECRET_OVERLAP_S}`,
      ),
  })
  .meta({ id: 'WebhookRotateRequest' });

/** 200: the endpoint (now `standard`) with its new secret, shown in this answer only. */
export const webhookRotateResponse = webhookEndpointItem
  .extend({ secret: secretField })
  .meta({ id: 'WebhookRotated' });

export const webhookListResponse = z
  .object({ items: z.array(webhookEndpointItem), max: z.number().int() })
  .meta({ id: 'WebhookList' });

export const webhookParams = z.object({ id: z.string().min(1).max(64) });

export const webhookDeliveryItem = z
  .object({
    id: z.string(),
    event_id: z.string(),
    endpoint_id: z.string(),
    event: webhookEventType,
    user: z.string().nullable(),
    status: z.enum(webhookDeliveryStatuses),
    attempts: z.number().int(),
    next_attempt_at: z.string().nullable(),
    last_status: z.number().int().nullable(),
    last_error: z.string().nullable(),
    created_at: z.string(),
    delivered_at: z.string().nullable(),
  })
  .meta({ id: 'WebhookDelivery' });

export const adminWebhooksResponse = z
  .object({ endpoints: z.array(webhookEndpointItem), deliveries: z.array(webhookDeliveryItem) })
  .meta({ id: 'AdminWebhooks' });

/** The JSON body POSTed to an endpoint. */
export const webhookEventBody = z
  .object({
    id: z.string().describe('evt_…: the same on every attempt and for every endpoint; deduplicate on it'),
    type: webhookEventType,
    created_at: z.string(),
    app_id: z.string(),
    data: z.object({
      user: z.string().optional().describe("the user whose adapter changed (a style's event has `style`)"),
      style: z.string().optional(),
      version: z.string().describe('the version active now'),
      previous_version: z.string().nullable().describe('the version active before (null: none)'),
    }),
  })
  .meta({ id: 'WebhookEvent' });
export type WebhookEventBody = z.infer<typeof webhookEventBody>;
