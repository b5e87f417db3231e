import { App, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { BUNDLING_STACKS } from 'aws-cdk-lib/cx-api';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app.js';
import { buildTestApp, synthesizePlatformAlone, TEST_SETTINGS } from './support/synth.js';

// `cdk deploy SecureWatchPlatform` (no version) and `cdk deploy SecureWatchRelease-… -c version=…` must agree on
// the platform, or one of them would change or delete what the other deployed. Bundling is skipped in each
// synthesis: the code assets do not depend on which release is synthesized.
describe('deploying the stacks in any order', () => {
  let alone: Template;
  let withRelease: Template;
  let release: Stack;

  beforeAll(() => {
    alone = synthesizePlatformAlone({ bundle: false, settings: TEST_SETTINGS });
    const app = buildTestApp({ bundle: false, settings: TEST_SETTINGS });
    withRelease = Template.fromStack(app.platform);
    release = app.release;
  });

  it('synthesizes the platform identically alone and together with a release', () => {
    expect(withRelease.toJSON()).toEqual(alone.toJSON());
  });

  it('synthesizes the platform identically whichever release is deployed next to it', () => {
    const app = buildApp(new App({ context: { version: 'v1.2.0', [BUNDLING_STACKS]: [] } }), TEST_SETTINGS);
    const platform = Template.fromStack(app.node.findChild('SecureWatchPlatform') as Stack);

    expect(platform.toJSON()).toEqual(alone.toJSON());
  });

  it('exports nothing from the platform: no release stack can pin it', () => {
    const exports = Object.values(alone.toJSON().Outputs ?? {}).filter(
      (output) => (output as { Export?: unknown }).Export !== undefined,
    );

    expect(exports).toEqual([]);
  });

  it('imports nothing into a release stack, which does not depend on the platform stack', () => {
    expect(JSON.stringify(Template.fromStack(release).toJSON())).not.toContain('Fn::ImportValue');
    expect(release.dependencies).toEqual([]);
  });
});
