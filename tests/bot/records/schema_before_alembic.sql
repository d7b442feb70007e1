-- The schema of referral-bot.db as the records wrote it before schema versions (commit d9719f7,
-- through sqlite-utils): migration 0001 must take such a file in place, nothing lost.
CREATE TABLE "accounts" (
   "account_id" TEXT PRIMARY KEY,
   "contact" TEXT,
   "registered_by" TEXT,
   "registered_at" TEXT,
   "status" INTEGER,
   "points" INTEGER,
   "cash" TEXT,
   "referrer" TEXT,
   "seen_at" TEXT,
   "told_points" INTEGER,
   "told_cash" TEXT,
   "version" INTEGER,
   "forgotten_as" TEXT
);
CREATE TABLE "events" (
   "event_id" TEXT PRIMARY KEY,
   "event_type" TEXT,
   "message_id" TEXT,
   "payload" TEXT,
   "status" TEXT,
   "attempts" INTEGER,
   "owner" TEXT,
   "not_before" TEXT,
   "reply" TEXT,
   "error" TEXT,
   "received_at" TEXT,
   "updated_at" TEXT,
   "once_started_at" TEXT,
   "answer_via" TEXT,
   "answer_message_id" TEXT
);
CREATE UNIQUE INDEX "idx_events_message_id"
    ON "events" ("message_id");
CREATE INDEX "idx_events_status"
    ON "events" ("status");
CREATE INDEX "idx_events_updated_at"
    ON "events" ("updated_at");
CREATE TABLE "owners" (
   "owner" TEXT PRIMARY KEY,
   "host" TEXT,
   "pid" INTEGER,
   "started_at" TEXT,
   "beat_at" TEXT
);
CREATE TABLE "health_probe" (
   "id" INTEGER PRIMARY KEY,
   "at" TEXT
);
CREATE TABLE "welcomed" (
   "open_id" TEXT PRIMARY KEY,
   "event_id" TEXT,
   "at" TEXT
);
CREATE TABLE "account_cards" (
   "message_id" TEXT PRIMARY KEY,
   "account_id" TEXT,
   "chat_id" TEXT,
   "sent_at" TEXT
);
CREATE INDEX "idx_account_cards_account_id"
    ON "account_cards" ("account_id");
CREATE INDEX "idx_account_cards_sent_at"
    ON "account_cards" ("sent_at");
CREATE TABLE "account_contacts" (
   "kind" TEXT,
   "value" TEXT,
   "account_id" TEXT,
   PRIMARY KEY ("kind", "value", "account_id")
);
CREATE INDEX "idx_account_contacts_account_id"
    ON "account_contacts" ("account_id");
CREATE TABLE "audit" (
   "id" INTEGER PRIMARY KEY,
   "at" TEXT,
   "actor" TEXT,
   "action" TEXT,
   "account_id" TEXT,
   "outcome" TEXT,
   "detail" TEXT,
   "via" TEXT,
   "chat_id" TEXT,
   "facts" TEXT
);
CREATE INDEX "idx_audit_at"
    ON "audit" ("at");
CREATE TABLE "balance_changes" (
   "id" INTEGER PRIMARY KEY,
   "account_id" TEXT,
   "points_delta" INTEGER,
   "cash_delta" TEXT,
   "points" INTEGER,
   "cash" TEXT,
   "modify_time" TEXT,
   "window" TEXT,
   "recorded_at" TEXT,
   "told" INTEGER
);
CREATE INDEX "idx_balance_changes_told_window"
    ON "balance_changes" ("told", "window");
CREATE TABLE "digest_runs" (
   "id" INTEGER PRIMARY KEY,
   "scheduled_for" TEXT,
   "holder" TEXT,
   "started_at" TEXT,
   "heartbeat_at" TEXT,
   "finished_at" TEXT,
   "kind" TEXT,
   "taken_at" TEXT,
   "accounts" INTEGER,
   "fetched" INTEGER,
   "failed" INTEGER,
   "failures" TEXT,
   "chats_posted" TEXT,
   "chats_failed" TEXT
);
CREATE UNIQUE INDEX "idx_digest_runs_scheduled_for"
    ON "digest_runs" ("scheduled_for");
CREATE TABLE "digest_posts" (
   "scheduled_for" TEXT,
   "chat_id" TEXT,
   "run_id" INTEGER,
   "holder" TEXT,
   "status" TEXT,
   "message_id" TEXT,
   "error" TEXT,
   "updated_at" TEXT,
   PRIMARY KEY ("scheduled_for", "chat_id")
);
CREATE TABLE "digest_snapshots" (
   "run_id" INTEGER,
   "account_id" TEXT,
   "status" INTEGER,
   "points" INTEGER,
   "cash" TEXT,
   "taken_at" TEXT,
   PRIMARY KEY ("run_id", "account_id")
);
CREATE INDEX "idx_digest_snapshots_account_id_run_id"
    ON "digest_snapshots" ("account_id", "run_id");
CREATE TABLE "reconcile_runs" (
   "id" INTEGER PRIMARY KEY,
   "scheduled_for" TEXT,
   "holder" TEXT,
   "started_at" TEXT,
   "finished_at" TEXT,
   "first_day" TEXT,
   "last_day" TEXT,
   "accounts" INTEGER,
   "points" INTEGER,
   "mismatches" INTEGER,
   "error" TEXT,
   "chats_posted" TEXT,
   "chats_failed" TEXT
);
CREATE UNIQUE INDEX "idx_reconcile_runs_scheduled_for"
    ON "reconcile_runs" ("scheduled_for");
CREATE TABLE "reconcile_posts" (
   "scheduled_for" TEXT,
   "chat_id" TEXT,
   "run_id" INTEGER,
   "holder" TEXT,
   "status" TEXT,
   "message_id" TEXT,
   "error" TEXT,
   "updated_at" TEXT,
   PRIMARY KEY ("scheduled_for", "chat_id")
);
CREATE TABLE "withdrawals" (
   "id" INTEGER PRIMARY KEY,
   "account_id" TEXT,
   "kind" TEXT,
   "state" TEXT,
   "points" INTEGER,
   "cash" TEXT,
   "requested_by" TEXT,
   "requested_at" TEXT,
   "expires_at" TEXT,
   "chat_id" TEXT,
   "message_id" TEXT,
   "approved_by" TEXT,
   "approved_at" TEXT,
   "order_id" TEXT,
   "trans_time" TEXT,
   "withdrawn_points" INTEGER,
   "withdrawn_cash" TEXT,
   "decided_by" TEXT,
   "error" TEXT,
   "reasked" INTEGER,
   "updated_at" TEXT,
   "uncertain_at" TEXT,
   "settled_by" TEXT
);
CREATE UNIQUE INDEX "idx_withdrawals_order_id"
    ON "withdrawals" ("order_id");
CREATE INDEX "idx_withdrawals_account_id"
    ON "withdrawals" ("account_id");
