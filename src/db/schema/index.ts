export * from "./carriers";
export * from "./contacts";
export * from "./inbound";
export * from "./messages";
export * from "./programs";
export * from "./tenants";
