export { buildKmApp } from './app.ts';
export { kmStatus } from './km-status.ts';
export { ensureKmMasterKey, kmMasterKeyLabel } from './master-key.ts';
