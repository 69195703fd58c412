/**
 * Boolean SQL expressions joined as balanced trees. SQLite limits an expression's depth (1,000 by
 * default, 100 on D1), so 500 conditions joined one after another with OR would be refused; a
 * balanced join keeps the tree about log2 of the parts high. Pure: strings in, a string out.
 */

/** One SQL expression and the height of its expression tree. */
export interface Part {
  sql: string;
  height: number;
}

/** About the height of one condition's expression tree (a comparison over json_extract, negated: an OR). */
export const LEAF_HEIGHT = 4;

/**
 * Joins parts with AND/OR as a binary tree that keeps their order (the placeholders follow the
 * parameters) and splits where the halves weigh the same (weight 2^height), so a deep part sits
 * near the root: the tree is about log2(Σ 2^height) high instead of one level per part.
 */
export function joinBalanced(parts: Part[], joiner: string): Part {
  const weights = parts.map((p) => 2 ** Math.min(p.height, 60));
  const join = (lo: number, hi: number): Part => {
    if (hi - lo === 1) return parts[lo] as Part;
    let total = 0;
    for (let i = lo; i < hi; i++) total += weights[i] as number;
    let left = 0;
    let split = lo + 1;
    let best = Number.POSITIVE_INFINITY;
    for (let k = lo + 1; k < hi; k++) {
      left += weights[k - 1] as number;
      const diff = Math.abs(total - 2 * left);
      if (diff < best) {
        best = diff;
        split = k;
      }
    }
    const a = join(lo, split);
    const b = join(split, hi);
    return { sql: `(${a.sql}${joiner}${b.sql})`, height: Math.max(a.height, b.height) + 1 };
  };
  return join(0, parts.length);
}
