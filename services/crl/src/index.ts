export { buildCrlApp, type CrlAppOptions } from './app.ts';
