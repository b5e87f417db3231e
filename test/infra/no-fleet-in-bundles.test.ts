import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import policiesJson from '../../config/deployment-policies.json' with { type: 'json' };
import { PROJECT_ROOT } from '../../lib/constructs/orchestrator-function.js';
import { sampleFleet } from '../../local/sample-fleet.js';

// The fleet is data in the table: no function bundle carries a customer, so a function's size does not
// grow with the fleet and adding a customer needs no deploy. The policies are code: they are bundled.

const HANDLERS = join(PROJECT_ROOT, 'lambdas', 'handlers');
const bundles = new Map<string, string>();

beforeAll(async () => {
  // As the stack bundles each function (lib/constructs/orchestrator-function.ts), the AWS SDK left out as
  // the Lambda runtime provides it.
  const result = await build({
    entryPoints: readdirSync(HANDLERS)
      .filter((file) => file.endsWith('.ts'))
      .map((file) => join(HANDLERS, file)),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    keepNames: true,
    external: ['@aws-sdk/*'],
    outdir: join(PROJECT_ROOT, 'bundle-check'),
    write: false,
    logLevel: 'silent',
  });
  for (const file of result.outputFiles) bundles.set(basename(file.path, '.js'), file.text);
}, 120_000);

describe('the function bundles', () => {
  it('bundle plan-release with the policies it snapshots into each release', () => {
    expect(bundles.get('plan-release')).toContain(policiesJson.policies.enterprise.adoptionStrategy);
  });

  it('hold no customer of the sample fleet', () => {
    const customers = sampleFleet().customers;
    expect(bundles.size).toBeGreaterThan(20);
    for (const [handler, text] of bundles) {
      // By name: ids such as acme-corporation also serve as examples in messages on how to write an id.
      const found = customers.filter((customer) => text.includes(customer.name));
      expect(
        found.map((customer) => customer.name),
        handler,
      ).toEqual([]);
    }
  });
});
