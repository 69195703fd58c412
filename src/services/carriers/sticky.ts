/** FNV-1a: a stable spread of phones over a sender pool. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * The first pick of a pool number for a phone: stable while the pool does not change. The
 * dispatcher remembers each pick in `sticky_senders`, so a contact keeps its number even when
 * the pool grows, and gets a new (remembered) one only when its number leaves the pool.
 */
export function pickFromPool(pool: readonly string[], phone: string): string | null {
  return pool.length === 0 ? null : (pool[fnv1a(phone) % pool.length] ?? null);
}
