CREATE TABLE `program_occurrence_pages` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`program_id` text NOT NULL,
	`items` text NOT NULL,
	`now_ms` integer NOT NULL,
	`lease_until` text NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `program_occurrence_pages_lease` ON `program_occurrence_pages` (`lease_until`);