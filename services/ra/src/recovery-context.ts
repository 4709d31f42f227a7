import type { KeyRestorer } from './key-release.ts';
import type { RaContext } from './ra-context.ts';

/** What the key recovery routes need besides the RA's own context. */
export interface RecoveryContext extends RaContext {
  km: KeyRestorer;
  /** How long a key administrator's approval of a judicial recovery counts. */
  judicialApprovalHours: number;
}
