import type { ApplicationRow } from './application-view.ts';
import type { IssueInstruction } from './ca-client.ts';
import { vetHolder } from './holder-identity.ts';

export type IssuableRow = Pick<ApplicationRow, 'holder_type' | 'holder' | 'profile' | 'holder_key' | 'csr'>;

/**
 * The issue instruction for an approved application, derived from its stored row alone, so a
 * retry (by a maker or the retrier) sends the very instruction the first attempt sent.
 */
export function issueInstructionOf(row: IssuableRow, requestId: string): IssueInstruction {
  const { instruction } = vetHolder(row.holder_type, row.profile, row.holder);
  return {
    requestId,
    profile: row.profile,
    holderKey: row.holder_key,
    csr: row.csr.toString('base64'),
    ...instruction,
  };
}
