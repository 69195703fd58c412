import { describe, expect, it } from "vitest";
import type { SendResult } from "../../src/carriers/types";
import { MAX_SEND_ATTEMPTS } from "../../src/domain/backoff";
import { classifyOutcome } from "../../src/pipeline/dispatch/outcome";

const retryable = (extra: Partial<Extract<SendResult, { outcome: "retryable" }>> = {}): SendResult => ({
  outcome: "retryable",
  errorCode: "503",
  errorMessage: "Service Unavailable",
  ...extra,
});

describe("classifyOutcome: what a carrier call comes to (rules 7–8)", () => {
  it("accepted: sent, or delivered when the answer says so (the sandbox)", () => {
    expect(classifyOutcome({ outcome: "accepted", carrierMessageId: "SM1", status: "sent" }, 1)).toEqual({
      kind: "sent",
      carrierMessageId: "SM1",
    });
    expect(
      classifyOutcome({ outcome: "accepted", carrierMessageId: "sb1", status: "delivered" }, 1).kind,
    ).toBe("delivered");
  });

  it("a permanent refusal fails at once, whatever the attempts left, and says whether the carrier saw an opt-out", () => {
    const optedOut = classifyOutcome(
      { outcome: "permanent", errorCode: "21610", errorMessage: "unsubscribed", optedOut: true },
      1,
    );
    expect(optedOut).toEqual({
      kind: "failed",
      errorCode: "21610",
      errorMessage: "unsubscribed",
      optedOut: true,
    });
    expect(
      classifyOutcome({ outcome: "permanent", errorCode: "21211", errorMessage: "invalid" }, 1),
    ).toMatchObject({
      kind: "failed",
      optedOut: false,
    });
  });

  it("a call the carrier may have accepted is never retried blindly, even on the last attempt", () => {
    expect(classifyOutcome(retryable({ maybeAccepted: true }), 1).kind).toBe("unknown");
    expect(classifyOutcome(retryable({ maybeAccepted: true }), MAX_SEND_ATTEMPTS).kind).toBe("unknown");
  });

  it("retryable: again after the backoff (never before Retry-After), until the last attempt is spent", () => {
    expect(classifyOutcome(retryable({ retryAfterSeconds: 30 }), 1, () => 0)).toEqual({
      kind: "retry",
      delaySeconds: 30,
      errorCode: "503",
      errorMessage: "Service Unavailable",
    });
    expect(classifyOutcome(retryable(), MAX_SEND_ATTEMPTS - 1).kind).toBe("retry");
    expect(classifyOutcome(retryable(), MAX_SEND_ATTEMPTS)).toEqual({
      kind: "exhausted",
      attempts: MAX_SEND_ATTEMPTS,
      errorCode: "503",
      errorMessage: "Service Unavailable",
    });
  });
});
