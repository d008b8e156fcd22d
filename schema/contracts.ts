// The API's contracts, one index for the code that serves or calls the API: each audience's zod schemas live in
// a file of their own (the apps' v1, the admin API and its console, app settings, the OpenAI-compatible routes,
// webhooks, and what they share), and the training side's job shapes in training.ts. One schema per request and
// response gives the validator, the TS type (z.infer) and the OpenAPI entry. Files inside schema/ import from
// the file that defines a thing, never from here.

export * from './admin.js';
export * from './console.js';
export * from './items.js';
export * from './openai.js';
export * from './settings.js';
export * from './shared.js';
export * from './training.js';
export * from './v1.js';
export * from './webhooks.js';
