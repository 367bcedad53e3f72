#!/usr/bin/env node
// The `custom-runtime` executable: everything is in runCli so that tests can run it in-process.
import { runCli } from './cli.js';
import { processIo } from './io.js';

process.exitCode = await runCli(process.argv.slice(2), processIo());
