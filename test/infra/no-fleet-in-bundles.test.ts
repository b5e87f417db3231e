import { beforeAll, describe, expect, it } from 'vitest';
import { type HandlerBundle, handlerBundles } from '../../bench/bundle-sizes.js';
import policiesJson from '../../config/deployment-policies.json' with { type: 'json' };
import { sampleFleet } from '../../local/sample-fleet.js';

// The fleet is data in the table: no function bundle carries a customer, so a function's size does not
// grow with the fleet and adding a customer needs no deploy. The policies are code: they are bundled.

/** Minified, source map aside: small bundles load fast on a cold start. */
const MAX_BUNDLE_BYTES = 500_000;

let bundles: HandlerBundle[] = [];

beforeAll(async () => {
  // Each handler bundled as the stack bundles its function (lib/constructs/function-bundling.ts), the AWS
  // SDK left out as the Lambda runtime provides it.
  bundles = await handlerBundles();
}, 120_000);

const bundleOf = (handler: string) => bundles.find((bundle) => bundle.handler === handler)?.code;

describe('the function bundles', () => {
  it('bundle plan-release with the policies it snapshots into each release', () => {
    expect(bundleOf('plan-release')).toContain(policiesJson.policies.enterprise.adoptionStrategy);
  });

  it('hold no customer of the sample fleet', () => {
    const customers = sampleFleet().customers;
    expect(bundles.length).toBeGreaterThan(20);
    for (const { handler, code } of bundles) {
      // By name: ids such as acme-corporation also serve as examples in messages on how to write an id.
      const found = customers.filter((customer) => code.includes(customer.name));
      expect(
        found.map((customer) => customer.name),
        handler,
      ).toEqual([]);
    }
  });

  it('each stay within 500 KB minified', () => {
    expect(bundles.length).toBeGreaterThan(20);
    const oversized = bundles
      .filter(({ bytes }) => bytes > MAX_BUNDLE_BYTES)
      .map(({ handler, bytes }) => `${handler}: ${bytes} bytes`);
    expect(oversized).toEqual([]);
  });
});
