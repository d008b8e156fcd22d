// The webhook routes (/v1/webhooks, and the console's /admin/apps/{app}/webhooks) as zod schemas, and the
// event a delivery carries (docs/api.md, "Webhooks").

import { z } from 'zod';
import { webhookDeliveryStatuses, webhookEventTypes } from './tables.js';

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
    created_at: z.string(),
  })
  .meta({ id: 'WebhookEndpoint' });

/** 201: the endpoint with its signing secret, shown in this answer only. */
export const webhookCreateResponse = webhookEndpointItem
  .extend({ secret: z.string().describe('signs every delivery (Tailor-Signature); shown once') })
  .meta({ id: 'WebhookCreated' });

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
