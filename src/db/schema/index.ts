export * from "./carriers";
export * from "./contacts";
export * from "./messages";
export * from "./tenants";
