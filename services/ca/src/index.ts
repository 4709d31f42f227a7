export { buildCaApp } from './app.ts';
export { ceremonySteps, runKeyCeremony } from './key-ceremony.ts';
