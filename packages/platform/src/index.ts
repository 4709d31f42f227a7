export * from './app-error.ts';
export * from './config.ts';
export * from './database.ts';
export * from './logger.ts';
