#!/usr/bin/env node
// The `custom-runtime` bin inside this repository: pnpm links it at install time, before
// dist/ is built (a bin that does not exist yet makes pnpm warn). The published package's bin
// is dist/main.js itself (publishConfig.bin).
await import('./dist/main.js');
