import fc from 'fast-check';
import { PkiError } from '../pki-error.ts';

/** Runs `parse` and fails unless it returns or throws a PkiError. */
function onlyPkiError(parse: (data: Uint8Array) => unknown, data: Uint8Array): void {
  try {
    parse(data);
  } catch (err) {
    if (!(err instanceof PkiError)) throw err;
  }
}

/**
 * Property test over random bytes and over mutations (truncation, byte changes, inserted length
 * bytes) of a valid sample, which reach much deeper into a parser than random bytes do.
 */
export function fuzzParser(parse: (data: Uint8Array) => unknown, sample: Uint8Array, numRuns = 10_000): void {
  const randomBytes = fc.uint8Array({ maxLength: 512 });
  const mutated = fc
    .tuple(
      fc.array(fc.tuple(fc.nat({ max: sample.length - 1 }), fc.integer({ min: 0, max: 255 })), {
        maxLength: 4,
      }),
      fc.nat({ max: sample.length }),
      fc.constantFrom(0, 0x80, 0x84, 0xff),
    )
    .map(([changes, cut, lengthByte]) => {
      const out = Uint8Array.from(sample);
      for (const [at, value] of changes) out[at] = value;
      if (cut % 3 === 0) out[Math.min(cut, out.length - 1)] = lengthByte;
      return cut % 2 === 0 ? out.subarray(0, cut) : out;
    });
  fc.assert(
    fc.property(fc.oneof(randomBytes, mutated), (data) => onlyPkiError(parse, data)),
    { numRuns },
  );
}
