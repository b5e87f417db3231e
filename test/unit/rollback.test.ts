import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bundledConfig } from '../../lambdas/core/config.js';
import {
  type CustomerState,
  canApply,
  isRollbackRequested,
  TRANSITIONS,
} from '../../lambdas/core/lifecycle.js';
import type { RollbackTriggers } from '../../lambdas/core/model.js';
import {
  firedTrigger,
  firedTriggers,
  type HealthSignals,
  isSilent,
  isTriggerEnabled,
  ROLLBACK_TRIGGERS,
  rollbackExecutionName,
  rollbackStateMachineArn,
  rollbackWindow,
} from '../../lambdas/core/rollback.js';

const CONFIGURED: RollbackTriggers = bundledConfig().release.rollbackTriggers;
const HEALTHY: HealthSignals = { latencyChangePercent: 1, criticalErrors: 0, securityFindings: 0 };

describe('the rollback triggers a health report fires', () => {
  it('fires none for a healthy report', () => {
    expect(firedTriggers(HEALTHY, CONFIGURED)).toEqual([]);
  });

  it.each([
    {
      report: { criticalErrors: 2 },
      trigger: 'critical-errors',
      reason: '2 critical application error(s) reported',
    },
    {
      report: { databaseCorruption: true },
      trigger: 'database-corruption',
      reason: 'database corruption reported',
    },
    {
      report: { latencyChangePercent: 30 },
      trigger: 'performance-degradation',
      reason: "latency +30% against the customer's baseline (limit 20%)",
    },
    {
      report: { securityFindings: 1 },
      trigger: 'security-finding',
      reason: '1 security finding(s) reported',
    },
    {
      report: { rollbackRequested: { by: 'cto@techstart.example.com', reason: 'exports broken' } },
      trigger: 'customer-request',
      reason: 'requested by cto@techstart.example.com: exports broken',
    },
  ])('fires $trigger, saying why', ({ report, trigger, reason }) => {
    expect(firedTrigger({ ...HEALTHY, ...report }, CONFIGURED)).toMatchObject({ trigger, reason });
  });

  it('reads degradation against the configured percentage: more than 20 % fires, 20 % does not', () => {
    expect(firedTrigger({ ...HEALTHY, latencyChangePercent: 20 }, CONFIGURED)).toBeUndefined();
    expect(firedTrigger({ ...HEALTHY, latencyChangePercent: 20.1 }, CONFIGURED)?.trigger).toBe(
      'performance-degradation',
    );
    expect(
      firedTrigger(
        { ...HEALTHY, latencyChangePercent: 30 },
        { ...CONFIGURED, performanceDegradationPercent: 50 },
      ),
    ).toBeUndefined();
  });

  it('records the most severe trigger when a report fires several', () => {
    const everything: HealthSignals = {
      latencyChangePercent: 45,
      criticalErrors: 1,
      securityFindings: 1,
      databaseCorruption: true,
      rollbackRequested: { by: 'ops@acme.example.com', reason: 'slow' },
    };

    expect(firedTriggers(everything, CONFIGURED).map((fired) => fired.trigger)).toEqual([
      'database-corruption',
      'critical-errors',
      'security-finding',
      'performance-degradation',
      'customer-request',
    ]);
    expect(firedTrigger(everything, CONFIGURED)?.trigger).toBe('database-corruption');
  });

  it.each([
    { flag: 'criticalErrors', report: { criticalErrors: 3 } },
    { flag: 'databaseCorruption', report: { databaseCorruption: true } },
    { flag: 'securityFinding', report: { securityFindings: 2 } },
    { flag: 'customerRequest', report: { rollbackRequested: { by: 'a@b.example.com', reason: 'r' } } },
  ] as const)('never fires a trigger the configuration turns off ($flag: false)', ({ flag, report }) => {
    expect(firedTriggers({ ...HEALTHY, ...report }, { ...CONFIGURED, [flag]: false })).toEqual([]);
  });

  it('fires a trigger exactly when the configuration enables it and the report shows its sign (property)', () => {
    const triggers = fc.record({
      performanceDegradationPercent: fc.integer({ min: 0, max: 100 }),
      criticalErrors: fc.boolean(),
      securityFinding: fc.boolean(),
      databaseCorruption: fc.boolean(),
      customerRequest: fc.boolean(),
    });
    const report = fc.record({
      latencyChangePercent: fc.double({ min: -100, max: 10_000, noNaN: true }),
      criticalErrors: fc.nat(5),
      securityFindings: fc.nat(5),
      databaseCorruption: fc.option(fc.boolean(), { nil: undefined }),
      rollbackRequested: fc.option(fc.constant({ by: 'ops@example.com', reason: 'asked' }), {
        nil: undefined,
      }),
    });
    fc.assert(
      fc.property(report, triggers, (signals, config) => {
        const fired = new Set(firedTriggers(signals, config).map((one) => one.trigger));
        expect(fired.has('critical-errors')).toBe(config.criticalErrors && signals.criticalErrors > 0);
        expect(fired.has('security-finding')).toBe(config.securityFinding && signals.securityFindings > 0);
        expect(fired.has('database-corruption')).toBe(
          config.databaseCorruption && signals.databaseCorruption === true,
        );
        expect(fired.has('customer-request')).toBe(
          config.customerRequest && signals.rollbackRequested !== undefined,
        );
        expect(fired.has('performance-degradation')).toBe(
          signals.latencyChangePercent > config.performanceDegradationPercent,
        );
        for (const trigger of fired) expect(isTriggerEnabled(trigger, config)).toBe(true);
      }),
    );
  });

  it('lets a gate decision or an operator roll back whatever the configuration says', () => {
    const allOff = {
      ...CONFIGURED,
      criticalErrors: false,
      databaseCorruption: false,
      securityFinding: false,
      customerRequest: false,
    };

    expect(ROLLBACK_TRIGGERS.filter((trigger) => isTriggerEnabled(trigger, allOff))).toEqual([
      'performance-degradation',
      'gate-decision',
      'operator',
    ]);
  });
});

describe('the rollback window', () => {
  const deployedAt = '2027-01-04T02:00:00.000Z';
  const windows = Object.fromEntries(
    Object.entries(bundledConfig().policies).map(([policy, { rollback }]) => [policy, rollback.windowDays]),
  );

  it('is each policy’s: enterprise 30 days, standard 14, startup 7, demo 1', () => {
    expect(windows).toEqual({ enterprise: 30, standard: 14, startup: 7, demo: 1 });
  });

  it('stays open to its last instant, then refuses with the reason: forward fix only', () => {
    expect(rollbackWindow(deployedAt, 7, '2027-01-11T02:00:00.000Z')).toEqual({
      open: true,
      closesAt: '2027-01-11T02:00:00.000Z',
    });
    expect(rollbackWindow(deployedAt, 7, '2027-01-11T02:00:00.001Z')).toEqual({
      open: false,
      closesAt: '2027-01-11T02:00:00.000Z',
      reason:
        'the 7-day rollback window after its deployment on 2027-01-04T02:00:00.000Z closed on 2027-01-11T02:00:00.000Z: forward fix only',
    });
  });

  it('is open exactly while no more than the window’s days have passed since the deployment (property)', () => {
    fc.assert(
      fc.property(fc.nat(60), fc.integer({ min: 0, max: 90 * 86_400_000 }), (windowDays, elapsedMs) => {
        const now = new Date(Date.parse(deployedAt) + elapsedMs).toISOString();
        expect(rollbackWindow(deployedAt, windowDays, now).open).toBe(elapsedMs <= windowDays * 86_400_000);
      }),
    );
  });
});

describe('a customer gone silent', () => {
  const deployedAt = '2027-01-04T02:00:00.000Z';

  it('has reported nothing for longer than the threshold, since its deployment or its last report', () => {
    expect(isSilent(deployedAt, undefined, 24, '2027-01-05T02:00:00.000Z')).toBe(false);
    expect(isSilent(deployedAt, undefined, 24, '2027-01-05T02:00:00.001Z')).toBe(true);
    expect(isSilent(deployedAt, '2027-01-05T00:00:00.000Z', 24, '2027-01-05T23:00:00.000Z')).toBe(false);
    expect(isSilent(deployedAt, '2027-01-05T00:00:00.000Z', 24, '2027-01-06T01:00:00.000Z')).toBe(true);
  });
});

describe('the rollback execution', () => {
  it('is named after the customer and the instant of the request, in its release’s rollback state machine', () => {
    expect(rollbackExecutionName('techstart-inc', '2027-03-14T06:30:00.000Z')).toBe(
      'rollback-techstart-inc-20270314T063000Z',
    );
    // A second rollback of the customer (the first was rejected) is another execution.
    expect(rollbackExecutionName('techstart-inc', '2027-03-20T09:00:00Z')).not.toBe(
      rollbackExecutionName('techstart-inc', '2027-03-14T06:30:00Z'),
    );
    expect(
      rollbackStateMachineArn(
        'arn:aws:states:eu-central-1:111122223333:stateMachine:securewatch-release-',
        'v1.1.0',
      ),
    ).toBe('arn:aws:states:eu-central-1:111122223333:stateMachine:securewatch-release-v1-1-0-rollback');
  });

  it('fits Step Functions’ 80 characters, and two long ids never share a name (property)', () => {
    const id = fc.stringMatching(/^[a-z0-9]+(-[a-z0-9]+)*$/, { maxLength: 128 });
    fc.assert(
      fc.property(id, id, (one, other) => {
        const at = '2027-03-14T06:30:00Z';
        expect(rollbackExecutionName(one, at)).toMatch(/^[A-Za-z0-9-_]{1,80}$/);
        if (one !== other) expect(rollbackExecutionName(one, at)).not.toBe(rollbackExecutionName(other, at));
      }),
    );
  });
});

describe('the lifecycle of a rollback', () => {
  it('is requested only of a deployed customer, once: a second request finds it rolling back', () => {
    const requestable = (
      ['deployed', 'rolling-back', 'failed', 'scheduled', 'rolled-back'] as CustomerState[]
    ).filter((state) => canApply(TRANSITIONS.requestRollback, state));

    expect(requestable).toEqual(['deployed']);
    expect(TRANSITIONS.requestRollback.to).toBe('rolling-back');
    expect(isRollbackRequested('rolling-back')).toBe(true);
    expect(isRollbackRequested('rollback-failed')).toBe(true);
    expect(isRollbackRequested('deployed')).toBe(false);
  });
});
