import { AppError } from '../app-error.ts';
import { type Role, roleNames, sortedRoles } from './roles.ts';

/**
 * The only roles one person may hold together. A certificate maker only produces and hands
 * over what a reviewer approved, so a person who also enters applications, or who also reviews
 * them, still cannot carry one application from entry to approval alone (entry clerk and
 * reviewer stay apart), while a small office need not keep a third person for the card
 * printer. Every other pair is refused: the auditor checks everyone's work, the key
 * administrator is independent of everything, the judicial officer asks for what key
 * administrators decide, the three administrators check one another, and administrators
 * configure the business rather than work its cases.
 */
const compatiblePairs: ReadonlyArray<readonly [Role, Role]> = [
  ['entry_clerk', 'certificate_maker'],
  ['reviewer', 'certificate_maker'],
];

const administrators: readonly Role[] = ['super_admin', 'business_admin', 'audit_admin'];

function compatible(a: Role, b: Role): boolean {
  return compatiblePairs.some(([x, y]) => (x === a && y === b) || (x === b && y === a));
}

/** Why two roles may not be one person's, for the refusal's message. */
function reason(a: Role, b: Role): string {
  const either = (role: Role) => a === role || b === role;
  if (either('key_administrator')) return 'the key administrator holds no other role';
  if (either('auditor')) return 'the auditor checks the work of every other role';
  if (either('judicial_officer')) return 'the judicial officer asks for what key administrators decide';
  if (either('entry_clerk') && either('reviewer'))
    return 'an application is entered and approved by two people';
  if (administrators.includes(a) && administrators.includes(b)) return 'the administrators check one another';
  return 'administrators configure the business and do not work its cases';
}

/** Every incompatible pair among the roles, in role order. */
export function incompatiblePairs(held: Iterable<Role>): Array<[Role, Role]> {
  const list = sortedRoles(held);
  const pairs: Array<[Role, Role]> = [];
  for (const [i, a] of list.entries()) {
    for (const b of list.slice(i + 1)) if (!compatible(a, b)) pairs.push([a, b]);
  }
  return pairs;
}

/** Refuses a set of roles one person may not hold together. */
export function requireSeparationOfDuties(held: Iterable<Role>): void {
  const pairs = incompatiblePairs(held);
  if (pairs.length === 0) return;
  const [a, b] = pairs[0]!;
  throw new AppError(
    'ROLES_INCOMPATIBLE',
    `one person may not be both ${roleNames[a]} and ${roleNames[b]}: ${reason(a, b)}`,
    409,
    { pairs },
  );
}
