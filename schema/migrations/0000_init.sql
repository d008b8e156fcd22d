CREATE TABLE "adapters" (
	"id" text PRIMARY KEY NOT NULL,
	"app_id" text NOT NULL,
	"kind" text NOT NULL,
	"user_id" text,
	"style_id" text,
	"version" text NOT NULL,
	"status" text NOT NULL,
	"metrics" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"storage_prefix" text NOT NULL,
	"base_model_id" text NOT NULL,
	"data_until" timestamp (3) with time zone,
	"job_id" text,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"promoted_at" timestamp (3) with time zone,
	CONSTRAINT "adapters_owner_ck" CHECK (("adapters"."kind" = 'user' and "adapters"."user_id" is not null and "adapters"."style_id" is null) or ("adapters"."kind" = 'style' and "adapters"."style_id" is not null and "adapters"."user_id" is null)),
	CONSTRAINT "adapters_status_ck" CHECK ("adapters"."status" in ('training', 'candidate', 'active', 'rejected', 'retired'))
);
--> statement-breakpoint
CREATE TABLE "api_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"app_id" text NOT NULL,
	"prefix" text NOT NULL,
	"hash" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp (3) with time zone
);
--> statement-breakpoint
CREATE TABLE "apps" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"signing_secret" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "base_models" (
	"id" text PRIMARY KEY NOT NULL,
	"storage_prefix" text NOT NULL,
	"hash" text NOT NULL,
	"config" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "end_users" (
	"app_id" text NOT NULL,
	"user_id" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"last_seen" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "end_users_app_id_user_id_pk" PRIMARY KEY("app_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "feedback" (
	"id" text PRIMARY KEY NOT NULL,
	"app_id" text NOT NULL,
	"user_id" text NOT NULL,
	"generation_id" text,
	"prompt" text,
	"text" text NOT NULL,
	"rating" smallint NOT NULL,
	"edited_text" text,
	"idempotency_key" text,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "feedback_rating_ck" CHECK ("feedback"."rating" in (1, -1))
);
--> statement-breakpoint
CREATE TABLE "generations" (
	"id" text PRIMARY KEY NOT NULL,
	"app_id" text NOT NULL,
	"user_id" text NOT NULL,
	"prompt" text NOT NULL,
	"text" text NOT NULL,
	"adapter_version" text,
	"styles" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"params" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"finish_reason" text NOT NULL,
	"prompt_tokens" integer NOT NULL,
	"completion_tokens" integer NOT NULL,
	"timings_ms" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "training_jobs" (
	"id" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"app_id" text,
	"status" text DEFAULT 'queued' NOT NULL,
	"payload" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"progress" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"result" jsonb,
	"log" text DEFAULT '' NOT NULL,
	"error" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"max_attempts" integer DEFAULT 3 NOT NULL,
	"run_after" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"locked_by" text,
	"locked_until" timestamp (3) with time zone,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp (3) with time zone,
	"finished_at" timestamp (3) with time zone,
	CONSTRAINT "training_jobs_status_ck" CHECK ("training_jobs"."status" in ('queued', 'running', 'succeeded', 'failed'))
);
--> statement-breakpoint
ALTER TABLE "adapters" ADD CONSTRAINT "adapters_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "end_users" ADD CONSTRAINT "end_users_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feedback" ADD CONSTRAINT "feedback_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "generations" ADD CONSTRAINT "generations_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "training_jobs" ADD CONSTRAINT "training_jobs_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "adapters_app_user_status_idx" ON "adapters" USING btree ("app_id","user_id","status");--> statement-breakpoint
CREATE INDEX "adapters_app_created_idx" ON "adapters" USING btree ("app_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "adapters_user_version_uq" ON "adapters" USING btree ("app_id","user_id","version") WHERE "adapters"."kind" = 'user';--> statement-breakpoint
CREATE UNIQUE INDEX "adapters_style_version_uq" ON "adapters" USING btree ("app_id","style_id","version") WHERE "adapters"."kind" = 'style';--> statement-breakpoint
CREATE UNIQUE INDEX "adapters_user_active_uq" ON "adapters" USING btree ("app_id","user_id") WHERE "adapters"."kind" = 'user' and "adapters"."status" = 'active';--> statement-breakpoint
CREATE UNIQUE INDEX "adapters_style_active_uq" ON "adapters" USING btree ("app_id","style_id") WHERE "adapters"."kind" = 'style' and "adapters"."status" = 'active';--> statement-breakpoint
CREATE UNIQUE INDEX "api_keys_prefix_uq" ON "api_keys" USING btree ("prefix");--> statement-breakpoint
CREATE INDEX "api_keys_app_idx" ON "api_keys" USING btree ("app_id");--> statement-breakpoint
CREATE INDEX "end_users_app_created_idx" ON "end_users" USING btree ("app_id","created_at");--> statement-breakpoint
CREATE INDEX "feedback_app_user_created_idx" ON "feedback" USING btree ("app_id","user_id","created_at");--> statement-breakpoint
CREATE INDEX "feedback_app_created_idx" ON "feedback" USING btree ("app_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "feedback_app_idempotency_uq" ON "feedback" USING btree ("app_id","idempotency_key") WHERE "feedback"."idempotency_key" is not null;--> statement-breakpoint
CREATE INDEX "generations_app_user_created_idx" ON "generations" USING btree ("app_id","user_id","created_at");--> statement-breakpoint
CREATE INDEX "training_jobs_status_run_after_idx" ON "training_jobs" USING btree ("status","run_after");--> statement-breakpoint
CREATE INDEX "training_jobs_created_idx" ON "training_jobs" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "training_jobs_app_created_idx" ON "training_jobs" USING btree ("app_id","created_at");