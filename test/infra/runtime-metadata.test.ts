import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { HANDLER_ENTRY_METADATA, OPERATION_METADATA } from '../../lib/constructs/orchestrator-function.js';
import { STATE_MACHINE_ROLE_METADATA } from '../../lib/release-stack.js';
import { OPERATIONS } from '../../local/templates.js';
import {
  CUSTOMER_STATE_MACHINE,
  RELEASE_STATE_MACHINE,
  ROLLBACK_STATE_MACHINE,
  synthesizeApp,
} from './support/synth.js';

// The local rehearsal finds what to hold, park and report by this metadata, never by a state or file name.
describe('metadata the local runtime keys on', () => {
  let platform: Template;
  let release: Template;

  beforeAll(() => {
    ({ platform, release } = synthesizeApp({ bundle: false }));
  });

  it('names on every function the operation it performs: its handler, each operation once', () => {
    const functions = Object.values(platform.findResources('AWS::Lambda::Function'));
    const operations = functions.map((fn) => fn.Metadata?.[OPERATION_METADATA]);

    expect(functions.length).toBeGreaterThan(0);
    for (const fn of functions)
      expect(fn.Metadata?.[HANDLER_ENTRY_METADATA]).toBe(
        `lambdas/handlers/${fn.Metadata?.[OPERATION_METADATA]}.ts`,
      );
    expect(new Set(operations).size).toBe(functions.length);
    expect(operations).toEqual(expect.arrayContaining(Object.values(OPERATIONS)));
  });

  it('names on every state machine its role: one release, one customer rollout, one customer rollback', () => {
    const roles = Object.fromEntries(
      Object.values(release.findResources('AWS::StepFunctions::StateMachine')).map((machine) => [
        machine.Properties.StateMachineName,
        machine.Metadata?.[STATE_MACHINE_ROLE_METADATA],
      ]),
    );

    expect(roles).toEqual({
      [RELEASE_STATE_MACHINE]: 'release',
      [CUSTOMER_STATE_MACHINE]: 'customer-rollout',
      [ROLLBACK_STATE_MACHINE]: 'customer-rollback',
    });
  });
});
