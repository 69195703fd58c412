ALTER TABLE `contacts` ADD `created_fired_at` text;--> statement-breakpoint
CREATE INDEX `contacts_created_unfired` ON `contacts` (`created_at`) WHERE created_fired_at IS NULL;--> statement-breakpoint
-- Contacts written before this migration had their contact.created work done when they were created.
UPDATE `contacts` SET `created_fired_at` = `created_at` WHERE `created_fired_at` IS NULL;
