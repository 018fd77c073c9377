#!/usr/bin/env node
// The command line lives in src/cli; this file only starts it.
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv);
