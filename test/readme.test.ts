import { describe, expect, it } from 'vitest';
import { charnn } from './helpers/cli.js';
import { README, ROOT } from './helpers/readme.js';

/** What README and the help send a user to exists for them (test/package.test.ts runs README's examples). */
describe('README and the help', () => {
  it('name no file a user does not have (../shared is the project\'s own: BENCHMARKS.md names it)', async () => {
    expect(README).not.toMatch(/\.\.\/shared/);
    const help = await charnn(['bench', '--help'], ROOT);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/--json/);
    expect(help.stdout).not.toMatch(/\.\.\/shared/);
  });
});
