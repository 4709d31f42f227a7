export * from './database-unavailable.ts';
export * from './embedded-postgres.ts';
export * from './migrations.ts';
export * from './pool.ts';
export * from './store-error.ts';
export * from './transaction.ts';

/** The project's numbered SQL migrations. */
export const migrationsDir = new URL('../../../migrations/', import.meta.url).pathname;
