import type { ProgramKind, ProgramTrigger } from "../../db/schema";

export const PROGRAM_KINDS = [
  "welcome",
  "prospect",
  "billing",
  "birthday",
  "recurring",
  "delivery_delay",
  "custom",
] as const satisfies readonly ProgramKind[];

interface KindDefaults {
  category: "transactional" | "marketing";
  trigger: ProgramTrigger;
  template: string;
  exitOn: string[];
}

const firstName = "{{ contact.first_name | default: 'there' }}";

/**
 * What `{name, kind}` alone becomes. Templates stay inside GSM-7 (plain quotes and dashes) so a
 * default message is one cheap segment, and each one says who is writing and why.
 */
export const KIND_DEFAULTS: Record<ProgramKind, KindDefaults> = {
  welcome: {
    category: "transactional",
    trigger: { type: "event", event: "contact.created" },
    template: `Hi ${firstName}, welcome to {{ tenant.brand_name }}! We're so glad you're here. Questions? Just reply to this text - a real person reads every one.`,
    exitOn: [],
  },
  prospect: {
    category: "marketing",
    trigger: { type: "event", event: "contact.created", delay_minutes: 2880 },
    template: `Hi ${firstName}, it's {{ tenant.brand_name }}. Still deciding? Tell us what you're after and we'll help you find the right fit - just reply.`,
    exitOn: [],
  },
  billing: {
    category: "transactional",
    trigger: {
      type: "date",
      field: "attributes.billing_due_date",
      offset_days: -3,
      at: "10:00",
      repeat: "none",
    },
    template: `Hi ${firstName}, a friendly heads-up from {{ tenant.brand_name }}: your payment is due on {{ contact.attributes.billing_due_date | date: '%a %b %-d' }}. Already paid? Thank you, and please ignore this note.`,
    exitOn: ["payment.received"],
  },
  birthday: {
    category: "marketing",
    trigger: { type: "date", field: "birthday", offset_days: 0, at: "10:00", repeat: "yearly" },
    template:
      "Happy birthday, {{ contact.first_name | default: 'friend' }}! Everyone at {{ tenant.brand_name }} hopes today is a wonderful one. Thanks for being with us.",
    exitOn: [],
  },
  recurring: {
    category: "marketing",
    trigger: { type: "schedule", cron: "0 10 * * 1", timezone: "contact" },
    template: `Hi ${firstName}, your Monday check-in from {{ tenant.brand_name }}. Anything we can help with this week? Just reply and we'll get back to you.`,
    exitOn: [],
  },
  delivery_delay: {
    category: "transactional",
    trigger: { type: "event", event: "order.delayed" },
    template: `Hi ${firstName}, we're sorry - your {{ tenant.brand_name }} order {{ event.order_name }} is running late. It should now arrive {{ event.estimated_delivery_at | date: '%a %b %-d' }}. Thanks for your patience!`,
    exitOn: [],
  },
  custom: {
    category: "marketing",
    trigger: { type: "manual" },
    template: `Hi ${firstName}, a quick note from {{ tenant.brand_name }}: something new just arrived that we think you'll like. Reply with any question.`,
    exitOn: [],
  },
};

export const DEFAULT_VALIDITY_HOURS = 24;
export const DEFAULT_AT = "10:00";
