-- User and style ids `.` and `..` are refused at the door from now on: no storage key or URL path can hold
-- them, so such users could never be trained (every publish failed), erased or listed rightly. What was
-- stored under them is deleted here; no adapter files were ever written for them.
DELETE FROM "generations" WHERE "user_id" IN ('.', '..');
--> statement-breakpoint
DELETE FROM "feedback" WHERE "user_id" IN ('.', '..');
--> statement-breakpoint
DELETE FROM "adapters" WHERE "user_id" IN ('.', '..') OR "style_id" IN ('.', '..');
--> statement-breakpoint
DELETE FROM "end_users" WHERE "user_id" IN ('.', '..');
