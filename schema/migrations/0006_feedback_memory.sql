-- A user's memory: the texts they liked or wrote (edits), searchable at request time. The search vector is
-- computed once, as each item arrives (a stored generated column: transactional, erased with the row, the
-- same on PostgreSQL and PGlite). Searches are always within one app's user, whose rows the
-- (app_id, user_id, created_at) index already finds; a GIN index over every user's vectors would cost each
-- insert and serve no query. The column is not in schema/tables.ts: only core/db/memory.ts reads it.
ALTER TABLE "feedback" ADD COLUMN "search" tsvector GENERATED ALWAYS AS (to_tsvector('english', coalesce("edited_text", "text"))) STORED;
