/** A value in a request that PostgreSQL would refuse with an error of its own. */
export interface UnsafeInput {
  /** Where, like `/holder/name`; '' for the value itself. */
  path: string;
  /** NUL in text (no text column can hold it), or a number without a finite value (JSON's 1e400, Ajv's coercion of "1e400"). */
  problem: 'nul' | 'infinite';
}

/** The first unsafe value inside `value`. Iterative, so a deeply nested JSON body cannot overflow the stack. */
export function unsafeInputAt(value: unknown): UnsafeInput | undefined {
  const pending: Array<[unknown, string]> = [[value, '']];
  while (pending.length > 0) {
    const [node, path] = pending.pop()!;
    if (typeof node === 'string') {
      if (node.includes('\0')) return { path, problem: 'nul' };
    } else if (typeof node === 'number') {
      if (!Number.isFinite(node)) return { path, problem: 'infinite' };
    } else if (node !== null && typeof node === 'object' && !Buffer.isBuffer(node)) {
      for (const [key, child] of Object.entries(node)) {
        const at = `${path}/${key.replaceAll('\0', '\\0')}`;
        if (key.includes('\0')) return { path: at, problem: 'nul' };
        pending.push([child, at]);
      }
    }
  }
  return undefined;
}
