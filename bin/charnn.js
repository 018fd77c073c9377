#!/usr/bin/env node
// The command line lives in src/cli; this file only starts it, from its bundle and the bundle's code cache
// (src/cli/launch.ts, scripts/cli-bundle.mjs).
import { loadCli } from '../dist/cli/launch.js';

const cli = loadCli();
process.exitCode = await cli.main(process.argv);
cli.save(); // only where this run found no cache it could use
