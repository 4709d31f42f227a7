import fc from 'fast-check';
import { expect } from 'vitest';

/**
 * Inputs for parser fuzzing: random bytes, and valid encodings that are truncated, bit-flipped,
 * spliced or given absurd lengths — the latter reach far deeper into a parser than noise does.
 */
export function malformedDer(valid: Uint8Array[]): fc.Arbitrary<Uint8Array> {
  const seed = fc.constantFrom(...valid);
  return fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.tuple(seed, fc.nat()).map(([v, n]) => v.subarray(0, n % (v.length + 1))),
    fc
      .tuple(
        seed,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
      )
      .map(([v, flips]) => {
        const out = v.slice();
        for (const [at, xor] of flips) out[at % out.length]! ^= xor;
        return out;
      }),
    fc.tuple(seed, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([v, at, junk]) => {
      const i = at % v.length;
      const out = new Uint8Array(v.length + junk.length);
      out.set(v.subarray(0, i));
      out.set(junk, i);
      out.set(v.subarray(i), i + junk.length);
      return out;
    }),
    fc
      .tuple(
        seed,
        fc.nat(),
        fc.constantFrom([0x84, 0xff, 0xff, 0xff, 0xff], [0x80], [0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
      )
      .map(([v, at, len]) => {
        const i = 1 + (at % Math.max(1, v.length - 1));
        const out = new Uint8Array(v.length + len.length);
        out.set(v.subarray(0, i));
        out.set(len, i);
        out.set(v.subarray(i), i + len.length);
        return out;
      }),
  );
}

export const FUZZ_RUNS = 10_000;

/** Fuzzes `parse` with malformed variants of `valid`: it may return, or throw an `errorType`, nothing else. */
export function throwsOnly(
  errorType: abstract new (...args: never[]) => Error,
  parse: (der: Uint8Array) => unknown,
  valid: Uint8Array[],
): void {
  fc.assert(
    fc.property(malformedDer(valid), (input) => {
      try {
        parse(input);
      } catch (err) {
        expect(err).toBeInstanceOf(errorType);
      }
    }),
    { numRuns: FUZZ_RUNS },
  );
}
