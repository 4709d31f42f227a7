export { freePort } from '../../cli/src/cluster/free-port.ts';
