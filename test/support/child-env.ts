export { childEnv } from '../../cli/src/cluster/child-env.ts';
