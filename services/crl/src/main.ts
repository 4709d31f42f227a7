import { runService } from '@sm2ca/platform';
import { buildCrlApp } from './app.ts';

await runService({ name: 'crl', needsDevice: true, build: buildCrlApp });
