CREATE TABLE "audit_log" (
	"id" text PRIMARY KEY NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"actor" text NOT NULL,
	"action" text NOT NULL,
	"app_id" text,
	"subject" text,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "signing_secrets" (
	"id" text PRIMARY KEY NOT NULL,
	"app_id" text NOT NULL,
	"secret" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"retires_at" timestamp (3) with time zone
);
--> statement-breakpoint
ALTER TABLE "generations" ADD COLUMN "fallback_reason" text;--> statement-breakpoint
ALTER TABLE "signing_secrets" ADD CONSTRAINT "signing_secrets_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "audit_log_at_idx" ON "audit_log" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "audit_log_app_at_idx" ON "audit_log" USING btree ("app_id","created_at");--> statement-breakpoint
CREATE INDEX "signing_secrets_app_idx" ON "signing_secrets" USING btree ("app_id");--> statement-breakpoint
CREATE INDEX "generations_app_created_idx" ON "generations" USING btree ("app_id","created_at");--> statement-breakpoint
INSERT INTO "signing_secrets" ("id", "app_id", "secret", "created_at") SELECT 'sks_' || substr(md5("id" || random()::text), 1, 26), "id", "signing_secret", "created_at" FROM "apps";
