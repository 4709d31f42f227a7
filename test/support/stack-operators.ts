import type { Stack } from './sm2ca-stack.ts';

/**
 * Adds an operator to a running stack as its first super admin does it: `sm2ca operator add`
 * under the super admin's credential. Returns the new operator's credential.
 */
export async function addStackOperator(stack: Stack, name: string, roles: string[]): Promise<string> {
  if (!stack.superAdmin) throw new Error('this stack made no super admin (its database had one already)');
  const added = await stack.cli(
    [
      'operator',
      'add',
      '--name',
      name,
      '--identity',
      `staff-${name.replaceAll(' ', '-')}`,
      '--role',
      ...roles,
    ],
    { SM2CA_OPERATOR_CREDENTIAL: stack.superAdmin },
  );
  if (added.code !== 0) throw new Error(`operator add ${name}: ${added.stderr}`);
  return added.stdout.trim();
}
