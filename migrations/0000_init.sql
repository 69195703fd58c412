CREATE TABLE `carriers` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`provider` text NOT NULL,
	`name` text,
	`credentials_sealed` text,
	`from_numbers` text DEFAULT '[]' NOT NULL,
	`messaging_service_sid` text,
	`base_url` text,
	`mps` integer,
	`priority` integer DEFAULT 0 NOT NULL,
	`callback_origin` text NOT NULL,
	`deleted_at` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `carriers_tenant_priority` ON `carriers` (`tenant_id`,`priority`);--> statement-breakpoint
CREATE INDEX `carriers_tenant_created` ON `carriers` (`tenant_id`,`created_at`,`id`);--> statement-breakpoint
CREATE TABLE `sticky_senders` (
	`carrier_id` text NOT NULL,
	`phone` text NOT NULL,
	`from_number` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `sticky_senders_pk` ON `sticky_senders` (`carrier_id`,`phone`);--> statement-breakpoint
CREATE TABLE `consent_records` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`contact_id` text,
	`phone_hash` text NOT NULL,
	`change` text NOT NULL,
	`source` text NOT NULL,
	`declared_source` text,
	`text` text,
	`at` text NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `consent_contact` ON `consent_records` (`tenant_id`,`contact_id`,`at`);--> statement-breakpoint
CREATE INDEX `consent_phone` ON `consent_records` (`tenant_id`,`phone_hash`,`at`);--> statement-breakpoint
CREATE TABLE `contacts` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`phone` text NOT NULL,
	`first_name` text,
	`last_name` text,
	`email` text,
	`external_id` text,
	`timezone` text,
	`locale` text,
	`birthday` text,
	`birthday_md` text GENERATED ALWAYS AS (substr(birthday, -5)) VIRTUAL,
	`birthday_month` integer GENERATED ALWAYS AS (cast(substr(birthday, -5, 2) as integer)) VIRTUAL,
	`attributes` text DEFAULT '{}' NOT NULL,
	`gender` text GENERATED ALWAYS AS (json_extract(attributes, '$.gender')) VIRTUAL,
	`income` numeric GENERATED ALWAYS AS (json_extract(attributes, '$.income')) VIRTUAL,
	`city` text GENERATED ALWAYS AS (json_extract(attributes, '$.city')) VIRTUAL,
	`region` text GENERATED ALWAYS AS (json_extract(attributes, '$.region')) VIRTUAL,
	`country` text GENERATED ALWAYS AS (json_extract(attributes, '$.country')) VIRTUAL,
	`postal_code` text GENERATED ALWAYS AS (json_extract(attributes, '$.postal_code')) VIRTUAL,
	`subscribed` integer DEFAULT true NOT NULL,
	`marketing_opt_in` integer DEFAULT false NOT NULL,
	`unsubscribed_at` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `contacts_tenant_phone` ON `contacts` (`tenant_id`,`phone`);--> statement-breakpoint
CREATE UNIQUE INDEX `contacts_tenant_external_id` ON `contacts` (`tenant_id`,`external_id`);--> statement-breakpoint
CREATE INDEX `contacts_tenant_created` ON `contacts` (`tenant_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `contacts_tenant_birthday_md` ON `contacts` (`tenant_id`,`birthday_md`);--> statement-breakpoint
CREATE INDEX `contacts_tenant_birthday_month` ON `contacts` (`tenant_id`,`birthday_month`);--> statement-breakpoint
CREATE INDEX `contacts_tenant_city` ON `contacts` (`tenant_id`,`city`);--> statement-breakpoint
CREATE INDEX `contacts_tenant_region` ON `contacts` (`tenant_id`,`region`);--> statement-breakpoint
CREATE INDEX `contacts_tenant_country` ON `contacts` (`tenant_id`,`country`);--> statement-breakpoint
CREATE INDEX `contacts_tenant_gender` ON `contacts` (`tenant_id`,`gender`);--> statement-breakpoint
CREATE INDEX `contacts_tenant_income` ON `contacts` (`tenant_id`,`income`);--> statement-breakpoint
CREATE INDEX `contacts_tenant_postal_code` ON `contacts` (`tenant_id`,`postal_code`);--> statement-breakpoint
CREATE INDEX `contacts_tenant_subscribed` ON `contacts` (`tenant_id`,`subscribed`);--> statement-breakpoint
CREATE TABLE `segments` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`name` text NOT NULL,
	`filter` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `segments_tenant_created` ON `segments` (`tenant_id`,`created_at`,`id`);--> statement-breakpoint
CREATE TABLE `suppressions` (
	`tenant_id` text NOT NULL,
	`phone_hash` text NOT NULL,
	`reason` text NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `suppressions_pk` ON `suppressions` (`tenant_id`,`phone_hash`);--> statement-breakpoint
CREATE TABLE `hook_deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`integration_id` text NOT NULL,
	`dedupe_key` text NOT NULL,
	`topic` text,
	`raw_body` text NOT NULL,
	`status` text NOT NULL,
	`detail` text,
	`received_at` text NOT NULL,
	`lease_until` text,
	`processed_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `hook_deliveries_dedupe` ON `hook_deliveries` (`integration_id`,`dedupe_key`);--> statement-breakpoint
CREATE TABLE `inbound_messages` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`contact_id` text,
	`carrier_id` text,
	`from` text NOT NULL,
	`to` text NOT NULL,
	`body` text NOT NULL,
	`keyword` text,
	`carrier_message_id` text,
	`received_at` text NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `inbound_contact` ON `inbound_messages` (`tenant_id`,`contact_id`,`received_at`,`id`);--> statement-breakpoint
CREATE UNIQUE INDEX `inbound_carrier_message` ON `inbound_messages` (`tenant_id`,`carrier_message_id`);--> statement-breakpoint
CREATE TABLE `integrations` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`type` text NOT NULL,
	`shop_domain` text,
	`secret_sealed` text NOT NULL,
	`deleted_at` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `integrations_tenant_created` ON `integrations` (`tenant_id`,`created_at`,`id`);--> statement-breakpoint
CREATE TABLE `shopify_orders` (
	`tenant_id` text NOT NULL,
	`integration_id` text NOT NULL,
	`order_id` text NOT NULL,
	`order_name` text,
	`contact_id` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `shopify_orders_pk` ON `shopify_orders` (`tenant_id`,`order_id`);--> statement-breakpoint
CREATE TABLE `webhook_deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`endpoint_id` text NOT NULL,
	`event_type` text NOT NULL,
	`payload` text NOT NULL,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`last_status_code` integer,
	`last_error` text,
	`next_attempt_at` text,
	`delivered_at` text,
	`failed_at` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `webhook_deliveries_endpoint` ON `webhook_deliveries` (`tenant_id`,`endpoint_id`,`created_at`,`id`);--> statement-breakpoint
CREATE TABLE `webhook_endpoints` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`url` text NOT NULL,
	`events` text NOT NULL,
	`secret_sealed` text NOT NULL,
	`status` text DEFAULT 'enabled' NOT NULL,
	`disabled_reason` text,
	`consecutive_failures` integer DEFAULT 0 NOT NULL,
	`deleted_at` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `webhook_endpoints_tenant_created` ON `webhook_endpoints` (`tenant_id`,`created_at`,`id`);--> statement-breakpoint
CREATE TABLE `idempotency_keys` (
	`tenant_id` text NOT NULL,
	`key` text NOT NULL,
	`fingerprint` text NOT NULL,
	`state` text NOT NULL,
	`locked_until` text,
	`response_status` integer,
	`response_body` text,
	`response_content_type` text,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `idempotency_pk` ON `idempotency_keys` (`tenant_id`,`key`);--> statement-breakpoint
CREATE INDEX `idempotency_created` ON `idempotency_keys` (`created_at`);--> statement-breakpoint
CREATE TABLE `message_events` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`message_id` text NOT NULL,
	`status` text NOT NULL,
	`detail` text,
	`at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `message_events_message` ON `message_events` (`message_id`,`at`);--> statement-breakpoint
CREATE TABLE `messages` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`contact_id` text,
	`program_id` text,
	`run_id` text,
	`event_id` text,
	`occurrence_key` text,
	`to` text NOT NULL,
	`from` text,
	`body` text NOT NULL,
	`body_hash` text NOT NULL,
	`encoding` text NOT NULL,
	`segments` integer NOT NULL,
	`characters` integer NOT NULL,
	`category` text NOT NULL,
	`quiet_hours` text NOT NULL,
	`status` text NOT NULL,
	`status_reason` text,
	`scheduled_at` text,
	`expires_at` text,
	`next_attempt_at` text,
	`sent_at` text,
	`delivered_at` text,
	`carrier_id` text,
	`carrier_pinned` integer DEFAULT false NOT NULL,
	`carrier_message_id` text,
	`error_code` text,
	`error_message` text,
	`attempts` integer DEFAULT 0 NOT NULL,
	`tried_carrier_ids` text DEFAULT '[]' NOT NULL,
	`keyword_reply` integer DEFAULT false NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `messages_occurrence` ON `messages` (`tenant_id`,`occurrence_key`);--> statement-breakpoint
CREATE INDEX `messages_tenant_created` ON `messages` (`tenant_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `messages_contact` ON `messages` (`tenant_id`,`contact_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `messages_program_status` ON `messages` (`program_id`,`status`);--> statement-breakpoint
CREATE INDEX `messages_to_created` ON `messages` (`tenant_id`,`to`,`created_at`);--> statement-breakpoint
CREATE INDEX `messages_status_scheduled` ON `messages` (`status`,`scheduled_at`);--> statement-breakpoint
CREATE INDEX `messages_status_lease` ON `messages` (`status`,`next_attempt_at`);--> statement-breakpoint
CREATE INDEX `messages_carrier_message_id` ON `messages` (`carrier_message_id`);--> statement-breakpoint
CREATE TABLE `events` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`name` text NOT NULL,
	`contact_id` text NOT NULL,
	`data` text DEFAULT '{}' NOT NULL,
	`occurred_at` text NOT NULL,
	`source` text NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `events_tenant_created` ON `events` (`tenant_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `events_contact` ON `events` (`tenant_id`,`contact_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `program_due` (
	`program_id` text NOT NULL,
	`contact_id` text NOT NULL,
	`tenant_id` text NOT NULL,
	`due_at` text NOT NULL,
	`occurrence` text NOT NULL,
	`armed_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `program_due_pk` ON `program_due` (`program_id`,`contact_id`);--> statement-breakpoint
CREATE INDEX `program_due_due` ON `program_due` (`program_id`,`due_at`);--> statement-breakpoint
CREATE INDEX `program_due_contact` ON `program_due` (`tenant_id`,`contact_id`);--> statement-breakpoint
CREATE TABLE `program_exits` (
	`program_id` text NOT NULL,
	`contact_id` text NOT NULL,
	`tenant_id` text NOT NULL,
	`field_value` text,
	`event_id` text,
	`at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `program_exits_pk` ON `program_exits` (`program_id`,`contact_id`);--> statement-breakpoint
CREATE TABLE `program_runs` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`program_id` text NOT NULL,
	`audience_count` integer NOT NULL,
	`cursor` text,
	`completed_at` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `program_runs_program` ON `program_runs` (`program_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `programs` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`name` text NOT NULL,
	`kind` text NOT NULL,
	`category` text NOT NULL,
	`department` text,
	`template` text NOT NULL,
	`trigger` text NOT NULL,
	`trigger_type` text NOT NULL,
	`trigger_event` text,
	`audience` text,
	`exit_on` text DEFAULT '[]' NOT NULL,
	`quiet_hours` text NOT NULL,
	`carrier_id` text,
	`validity_hours` integer NOT NULL,
	`status` text NOT NULL,
	`activated_at` text,
	`next_run_at` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `programs_tenant_created` ON `programs` (`tenant_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `programs_tenant_event` ON `programs` (`tenant_id`,`status`,`trigger_event`);--> statement-breakpoint
CREATE INDEX `programs_status_trigger` ON `programs` (`status`,`trigger_type`);--> statement-breakpoint
CREATE INDEX `programs_status_next_run` ON `programs` (`status`,`next_run_at`);--> statement-breakpoint
CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`name` text NOT NULL,
	`prefix` text NOT NULL,
	`hash` text NOT NULL,
	`scopes` text NOT NULL,
	`last_used_at` text,
	`revoked_at` text,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_hash` ON `api_keys` (`hash`);--> statement-breakpoint
CREATE INDEX `api_keys_tenant` ON `api_keys` (`tenant_id`,`created_at`,`id`);--> statement-breakpoint
CREATE TABLE `system_state` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `tenants` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`brand_name` text NOT NULL,
	`default_country` text DEFAULT 'US' NOT NULL,
	`timezone` text DEFAULT 'America/New_York' NOT NULL,
	`support_contact` text,
	`quiet_hours_start` text DEFAULT '21:00' NOT NULL,
	`quiet_hours_end` text DEFAULT '08:00' NOT NULL,
	`frequency_cap_max` integer DEFAULT 3 NOT NULL,
	`frequency_cap_window_hours` integer DEFAULT 24 NOT NULL,
	`dedupe_window_hours` integer DEFAULT 24 NOT NULL,
	`help_text` text,
	`stop_text` text,
	`opt_out_footer` text DEFAULT 'Reply STOP to opt out.' NOT NULL,
	`mps` integer DEFAULT 100 NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
