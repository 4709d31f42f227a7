import { runService } from '@sm2ca/platform';
import { buildCaApp } from './app.ts';

await runService({ name: 'ca', needsDevice: true, build: buildCaApp });
