import {
  type HaStack as ClusterStack,
  startHaStack as startCluster,
} from '../../../cli/src/cluster/ha-stack.ts';
import { type Stack, sm2caCli } from '../sm2ca-stack.ts';

export { haStackInstalled } from '../../../cli/src/cluster/ha-stack.ts';

export type HaStack = ClusterStack & Stack;

/** `sm2ca cluster start`'s stack, with the test stacks' `cli`. */
export async function startHaStack(extraEnv: NodeJS.ProcessEnv = {}): Promise<HaStack> {
  const stack = await startCluster(extraEnv);
  return { ...stack, cli: (args, more = {}) => sm2caCli(args, { ...stack.env, ...more }) };
}
