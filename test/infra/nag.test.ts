import type { Stack } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from './support/synth.js';

type Severity = 'error' | 'warning';

const PACKS = {
  AwsSolutions: () => new AwsSolutionsChecks(undefined, { verbose: true }),
  Serverless: () => new ServerlessChecks(undefined, { verbose: true }),
};
type Pack = keyof typeof PACKS;

/**
 * Each finding of the pack on the stack that no `Validations.of(...).acknowledge` covers, as
 * `Pack-ID[finding] at construct path`, so that a failure names the rule and the resource.
 */
function unacknowledged(stack: Stack, pack: Pack, severity: Severity): string[] {
  const report = PACKS[pack]().validateScope(stack);
  return report.violations
    .filter((violation) => violation.severity === severity)
    .flatMap(({ ruleName, violatingResources }) =>
      violatingResources.map(({ constructPath }) => `${ruleName} at ${constructPath}`),
    );
}

describe.each(Object.keys(PACKS) as Pack[])('the cdk-nag %s checks', (pack) => {
  let stacks: Record<'platform' | 'release', Stack>;

  // The rules read the construct tree, not the bundled code, so bundling is skipped. Synthesizing first lets
  // the constructs finish what they add at synthesis (default policies, log retention, permissions).
  beforeAll(() => {
    const { app, platform, release } = buildTestApp({ bundle: false });
    app.synth();
    stacks = { platform, release };
  });

  describe.each(['platform', 'release'] as const)('on the %s stack', (name) => {
    it.each(['error', 'warning'] as const)('leave no unacknowledged %s', (severity) => {
      expect(unacknowledged(stacks[name], pack, severity)).toEqual([]);
    });
  });
});
