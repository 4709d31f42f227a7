import { runService } from '@sm2ca/platform';
import { buildKmApp } from './app.ts';

await runService({ name: 'km', needsDevice: true, build: buildKmApp });
