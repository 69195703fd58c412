import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";

/** Token buckets (one object per carrier sender pool or tenant). Filled in by the sending work. */
export class RateLimiter extends DurableObject<Env> {}
