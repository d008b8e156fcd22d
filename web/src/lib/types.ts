// The wire types of the admin and v1 API, inferred from the same zod contracts the server validates with.
import type { z } from 'zod';
import type * as c from '../../../schema/contracts';
import type * as t from '../../../schema/training';

export type AppSummary = z.infer<typeof c.appSummaryItem>;
export type CreatedApp = z.infer<typeof c.createAppResponse>;
export type AppSettingsResponse = z.infer<typeof c.appSettingsResponse>;
export type AppSettings = z.infer<typeof c.appSettings>;
export type AppSettingsPatch = z.infer<typeof c.appSettingsPatch>;
export type ApiKey = z.infer<typeof c.apiKeyItem>;
export type CreatedApiKey = z.infer<typeof c.createApiKeyResponse>;
export type SigningSecret = z.infer<typeof c.signingSecretItem>;
export type RotatedSecret = z.infer<typeof c.rotateSigningSecretResponse>;
export type EndUser = z.infer<typeof c.userItem>;
export type UserDetail = z.infer<typeof c.userDetail>;
export type FeedbackItem = z.infer<typeof c.feedbackItem>;
export type GenerationItem = z.infer<typeof c.generationItem>;
export type AdapterItem = z.infer<typeof c.adapterItem>;
export type ActiveFlip = z.infer<typeof c.activeFlipResponse>;
export type JobItem = z.infer<typeof c.jobItem>;
export type TrainingRunResponse = z.infer<typeof c.trainingRunResponse>;
export type Overview = z.infer<typeof c.overviewResponse>;
export type Effect = z.infer<typeof c.effectResponse>;
export type ModelCard = z.infer<typeof c.modelResponse>;
export type BaseModelItem = z.infer<typeof c.baseModelItem>;
export type ModelsList = z.infer<typeof c.listModelsResponse>;
export type ImportModelRequest = z.input<typeof c.importModelRequest>;
export type ImportModelResponse = z.infer<typeof c.importModelResponse>;
export type AuditEntry = z.infer<typeof c.auditItem>;
export type StyleItem = z.infer<typeof c.styleItem>;
export type GenerateRequest = z.input<typeof c.adminGenerateRequest>;
export type GenerateResponse = z.infer<typeof c.generateResponse>;
export type ScoreResponse = z.infer<typeof c.scoreResponse>;
export type Health = z.infer<typeof c.healthResponse>;

export type TrainUsersResult = z.infer<typeof t.trainUsersResult>;

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}
