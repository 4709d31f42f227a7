export { buildCrlApp, type CrlAppOptions } from './app.ts';
export { type OutboxStatus, outboxStatus } from './directory-outbox.ts';
