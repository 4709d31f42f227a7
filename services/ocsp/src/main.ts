import { runService } from '@sm2ca/platform';
import { buildOcspApp } from './app.ts';

await runService({ name: 'ocsp', needsDevice: true, build: buildOcspApp });
