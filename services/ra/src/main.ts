import { runService } from '@sm2ca/platform';
import { buildRaApp } from './app.ts';

await runService({ name: 'ra', needsDevice: true, build: buildRaApp });
