import { describe, expect, it } from "vitest";
import { bodyLimitError, withFooter } from "../../src/domain/message-body";

describe("withFooter", () => {
  it("appends the footer after a space, or on its own line for a multi-line body", () => {
    expect(withFooter("Sale today", "Reply STOP to opt out.")).toBe("Sale today Reply STOP to opt out.");
    expect(withFooter("Sale\ntoday", "Reply STOP to opt out.")).toBe("Sale\ntoday\nReply STOP to opt out.");
  });

  it("leaves a body that already says how to stop, and adds nothing for an empty footer", () => {
    expect(withFooter("Sale today. Text STOP to quit", "Reply STOP to opt out.")).toBe(
      "Sale today. Text STOP to quit",
    );
    expect(withFooter("Sale today", "")).toBe("Sale today");
  });
});

describe("bodyLimitError", () => {
  it("allows 1,600 characters and names the length past them", () => {
    expect(bodyLimitError("a".repeat(1_600))).toBeNull();
    expect(bodyLimitError("a".repeat(1_601))).toBe(
      "the body is 1,601 characters (opt-out footer included, when added); a message is at most 1,600",
    );
  });
});
