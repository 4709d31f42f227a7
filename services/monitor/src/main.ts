import { runService } from '@sm2ca/platform';
import { buildMonitorApp } from './app.ts';

await runService({ name: 'monitor', needsDevice: false, build: buildMonitorApp });
