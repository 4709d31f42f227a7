#!/usr/bin/env node
// The CLI is TypeScript run through tsx, so operators run exactly the source that was reviewed.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
