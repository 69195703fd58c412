CREATE INDEX `hook_deliveries_received` ON `hook_deliveries` (`received_at`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_created` ON `webhook_deliveries` (`created_at`);