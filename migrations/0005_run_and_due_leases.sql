CREATE TABLE `program_due_builds` (
	`program_id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`build_id` text NOT NULL,
	`trigger` text NOT NULL,
	`activated_at` text,
	`armed_at` text NOT NULL,
	`now_ms` integer NOT NULL,
	`cursor` text,
	`lease_until` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `program_due_builds_lease` ON `program_due_builds` (`lease_until`) WHERE cursor IS NOT NULL;--> statement-breakpoint
ALTER TABLE `program_runs` ADD `lease_until` text;--> statement-breakpoint
CREATE INDEX `program_runs_writing_lease` ON `program_runs` (`lease_until`) WHERE cursor IS NOT NULL;--> statement-breakpoint
-- Runs still writing when this migration ran: their lease is their last progress, so a lost
-- continuation is found by the next sweep. Programs built before it have no build row (finished).
UPDATE `program_runs` SET `lease_until` = `updated_at` WHERE `cursor` IS NOT NULL;
