#!/usr/bin/env node
// The command line lives in src/cli; this file only starts it, from its bundle and the bundle's code cache
// (src/cli/launch.ts, scripts/cli-bundle.mjs).
let cli;
try {
  const { loadCli } = await import('../dist/cli/launch.js');
  cli = loadCli();
} catch (err) {
  // A clone or a checkout that was never built, or built by an older charnn: one line, not a stack trace.
  const why = err?.code === 'ERR_MODULE_NOT_FOUND' || err?.code === 'ENOENT' ? 'it is not built' : String(err?.message ?? err).split('\n')[0];
  process.stderr.write(`charnn: cannot start the command line: ${why}; run npm install (or npm run build) in charnn's folder\n`);
  process.exit(1);
}
process.exitCode = await cli.main(process.argv);
cli.save(); // only where this run found no cache it could use
