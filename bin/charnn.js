#!/usr/bin/env node
// The command line lives in src/cli; this file only starts it, from its bundle (scripts/cli-bundle.mjs).
import { main } from '../dist/cli-bundle/main.js';

process.exitCode = await main(process.argv);
