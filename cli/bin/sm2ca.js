#!/usr/bin/env node
// `npm ci` compiles every workspace to JavaScript (scripts/build.js), which starts without tsx's
// compile; after an edit the source runs through tsx, so a stale build never runs reviewed-out code.
import { compiledBuildIsCurrent } from './compiled-build.js';

if (compiledBuildIsCurrent()) {
  await import('../dist/main.js');
} else {
  const tsx = await import('tsx/esm/api');
  tsx.register();
  await import('../src/main.ts');
}
