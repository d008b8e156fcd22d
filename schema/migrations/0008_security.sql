CREATE TABLE "compaction_debt" (
	"table_name" text PRIMARY KEY NOT NULL,
	"since" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "erased_users" (
	"app_id" text NOT NULL,
	"user_hash" text NOT NULL,
	"epoch" integer DEFAULT 1 NOT NULL,
	"erased_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "erased_users_app_id_user_hash_pk" PRIMARY KEY("app_id","user_hash")
);
--> statement-breakpoint
CREATE TABLE "invalidations" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"app_id" text NOT NULL,
	"subject" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "platform_meta" (
	"name" text PRIMARY KEY NOT NULL,
	"value" text NOT NULL
);
--> statement-breakpoint
DROP INDEX "feedback_app_idempotency_uq";--> statement-breakpoint
ALTER TABLE "audit_log" ADD COLUMN "subject_kind" text;--> statement-breakpoint
UPDATE "audit_log" SET "subject_kind" = CASE
	WHEN "action" IN ('key.created', 'key.revoked') THEN 'key'
	WHEN "action" = 'signing_secret.rotated' THEN 'secret'
	WHEN "action" LIKE 'style.%' THEN 'style'
	WHEN "action" IN ('app.created', 'settings.changed') THEN 'app'
	WHEN "action" IN ('adapter.promoted', 'adapter.rolled_back') AND "subject" LIKE 'style:%' AND EXISTS (
		SELECT 1 FROM "adapters" a WHERE a."app_id" = "audit_log"."app_id" AND a."kind" = 'style'
		AND 'style:' || a."style_id" = "audit_log"."subject" AND a."version" = "audit_log"."details"->>'version'
	) THEN 'style'
	ELSE 'user'
END WHERE "subject" IS NOT NULL;--> statement-breakpoint
ALTER TABLE "webhook_endpoints" ADD COLUMN "signature_scheme" text DEFAULT 'standard' NOT NULL;--> statement-breakpoint
UPDATE "webhook_endpoints" SET "signature_scheme" = 'legacy';--> statement-breakpoint
ALTER TABLE "webhook_endpoints" ADD COLUMN "previous_secret" text;--> statement-breakpoint
ALTER TABLE "webhook_endpoints" ADD COLUMN "previous_secret_until" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "erased_users" ADD CONSTRAINT "erased_users_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "invalidations_at_idx" ON "invalidations" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "audit_log_app_subject_idx" ON "audit_log" USING btree ("app_id","subject_kind","subject");--> statement-breakpoint
CREATE UNIQUE INDEX "feedback_app_user_idempotency_uq" ON "feedback" USING btree ("app_id","user_id","idempotency_key") WHERE "feedback"."idempotency_key" is not null;--> statement-breakpoint
ALTER TABLE "audit_log" ADD CONSTRAINT "audit_log_subject_ck" CHECK (("audit_log"."subject" is null) = ("audit_log"."subject_kind" is null) and ("audit_log"."subject_kind" is null or "audit_log"."subject_kind" in ('user', 'style', 'key', 'secret', 'app', 'webhook')));