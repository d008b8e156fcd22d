ALTER TABLE "generations" ADD COLUMN "arm" text;--> statement-breakpoint
CREATE INDEX "feedback_app_generation_idx" ON "feedback" USING btree ("app_id","generation_id") WHERE "feedback"."generation_id" is not null;--> statement-breakpoint
CREATE INDEX "generations_app_arm_created_idx" ON "generations" USING btree ("app_id","created_at") WHERE "generations"."arm" is not null;--> statement-breakpoint
ALTER TABLE "generations" ADD CONSTRAINT "generations_arm_ck" CHECK ("generations"."arm" in ('personalized', 'holdout'));