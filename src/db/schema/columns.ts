import { integer, text } from "drizzle-orm/sqlite-core";

/** ISO-8601 UTC text with milliseconds: sorts as time. */
export const timestamp = (name: string) => text(name);
export const bool = (name: string) => integer(name, { mode: "boolean" });
export const createdAt = () => text("created_at").notNull();
export const updatedAt = () => text("updated_at").notNull();
