export { buildOcspApp } from './app.ts';
