ALTER TABLE `hook_deliveries` ADD `content_key` text;--> statement-breakpoint
CREATE UNIQUE INDEX `hook_deliveries_content` ON `hook_deliveries` (`integration_id`,`content_key`);--> statement-breakpoint
CREATE INDEX `hook_deliveries_status_lease` ON `hook_deliveries` (`status`,`lease_until`);--> statement-breakpoint
ALTER TABLE `webhook_deliveries` ADD `dedupe_key` text;--> statement-breakpoint
CREATE UNIQUE INDEX `webhook_deliveries_dedupe` ON `webhook_deliveries` (`endpoint_id`,`dedupe_key`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_status_next` ON `webhook_deliveries` (`status`,`next_attempt_at`);