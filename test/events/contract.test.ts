import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  CONTRACT_BOUNDS,
  DETAIL_TYPES,
  deploymentFailed,
  deploymentRequested,
  deploymentSucceeded,
  FLEET_SOURCE,
  healthReported,
  inboundEnvelope,
  ORCHESTRATOR_SOURCE,
  PLATFORM_SOURCE,
  parseCorrelationId,
  releaseLifecycle,
  rollbackFailed,
  rollbackRequested,
  rollbackSucceeded,
  SCHEMA_VERSION_1_1,
} from '../../lambdas/events/contract.js';

// One realistic EventBridge event per kind of the contract, as the README documents them: the platform's
// automation and the fleet can test their producers against these files.

interface Kind {
  fixture: string;
  detailType: string;
  source: string;
  schema: z.ZodType;
}

const kinds: Kind[] = [
  {
    fixture: 'deployment-requested.json',
    detailType: DETAIL_TYPES.deploymentRequested,
    source: ORCHESTRATOR_SOURCE,
    schema: deploymentRequested,
  },
  {
    fixture: 'deployment-succeeded.json',
    detailType: DETAIL_TYPES.deploymentSucceeded,
    source: PLATFORM_SOURCE,
    schema: deploymentSucceeded,
  },
  {
    fixture: 'deployment-failed.json',
    detailType: DETAIL_TYPES.deploymentFailed,
    source: PLATFORM_SOURCE,
    schema: deploymentFailed,
  },
  {
    fixture: 'health-reported.json',
    detailType: DETAIL_TYPES.healthReported,
    source: FLEET_SOURCE,
    schema: healthReported,
  },
  {
    fixture: 'release-started.json',
    detailType: DETAIL_TYPES.releaseStarted,
    source: ORCHESTRATOR_SOURCE,
    schema: releaseLifecycle,
  },
  {
    fixture: 'batch-completed.json',
    detailType: DETAIL_TYPES.batchCompleted,
    source: ORCHESTRATOR_SOURCE,
    schema: releaseLifecycle,
  },
  {
    fixture: 'release-halted.json',
    detailType: DETAIL_TYPES.releaseHalted,
    source: ORCHESTRATOR_SOURCE,
    schema: releaseLifecycle,
  },
  {
    fixture: 'release-completed.json',
    detailType: DETAIL_TYPES.releaseCompleted,
    source: ORCHESTRATOR_SOURCE,
    schema: releaseLifecycle,
  },
  {
    fixture: 'rollback-requested.json',
    detailType: DETAIL_TYPES.rollbackRequested,
    source: ORCHESTRATOR_SOURCE,
    schema: rollbackRequested,
  },
  {
    fixture: 'rollback-succeeded.json',
    detailType: DETAIL_TYPES.rollbackSucceeded,
    source: PLATFORM_SOURCE,
    schema: rollbackSucceeded,
  },
  {
    fixture: 'rollback-failed.json',
    detailType: DETAIL_TYPES.rollbackFailed,
    source: PLATFORM_SOURCE,
    schema: rollbackFailed,
  },
];

function loadFixture(name: string): {
  source: string;
  'detail-type': string;
  detail: Record<string, unknown>;
} {
  const raw: unknown = JSON.parse(readFileSync(join(import.meta.dirname, name), 'utf8'));
  return inboundEnvelope.parse(raw) as {
    source: string;
    'detail-type': string;
    detail: Record<string, unknown>;
  };
}

describe('the event contract', () => {
  it('has a fixture for every kind of event it names', () => {
    expect(kinds.map((kind) => kind.detailType).sort()).toEqual(Object.values(DETAIL_TYPES).sort());
  });

  describe.each(kinds)('$detailType', ({ fixture, detailType, source, schema }) => {
    it(`is delivered from ${source} with detail-type "${detailType}"`, () => {
      const event = loadFixture(fixture);

      expect(event.source).toBe(source);
      expect(event['detail-type']).toBe(detailType);
    });

    it('has a detail that parses with its schema unchanged', () => {
      const { detail } = loadFixture(fixture);

      expect(schema.parse(detail)).toEqual(detail);
    });

    it('refuses a detail with a key the contract does not know', () => {
      // Prepare
      const { detail } = loadFixture(fixture);

      // Act
      const result = schema.safeParse({ ...detail, rolloutWave: 3 });

      // Assess
      expect(result.success).toBe(false);
      expect(result.error?.issues).toEqual([
        expect.objectContaining({ code: 'unrecognized_keys', keys: ['rolloutWave'] }),
      ]);
    });

    it('refuses a detail of another schema version', () => {
      const { detail } = loadFixture(fixture);

      expect(schema.safeParse({ ...detail, schemaVersion: '2' }).success).toBe(false);
    });
  });

  it('ties a platform’s rollback answer to the customer and release it was requested for', () => {
    const requested = loadFixture('rollback-requested.json').detail;

    for (const answer of ['rollback-succeeded.json', 'rollback-failed.json'])
      expect(loadFixture(answer).detail.correlationId).toBe(requested.correlationId);
    expect(parseCorrelationId(String(requested.correlationId))).toEqual({
      release: requested.release,
      customerId: requested.customerId,
    });
  });

  it('ties a platform answer to the customer and release it was requested for', () => {
    // Prepare
    const requested = loadFixture('deployment-requested.json').detail;
    const succeeded = loadFixture('deployment-succeeded.json').detail;

    // Assess
    expect(succeeded.correlationId).toBe(requested.correlationId);
    expect(parseCorrelationId(String(succeeded.correlationId))).toEqual({
      release: requested.release,
      customerId: succeeded.customerId,
    });
  });

  it('refuses a Deployment Failed without a reason', () => {
    // Prepare
    const { reason: _reason, ...withoutReason } = loadFixture('deployment-failed.json').detail;

    // Act
    const result = deploymentFailed.safeParse(withoutReason);

    // Assess
    expect(result.error?.issues.map((issue) => issue.path.join('.'))).toEqual(['reason']);
  });

  it('refuses a Health Reported with an error rate above 100 percent', () => {
    // Prepare
    const { detail } = loadFixture('health-reported.json');

    // Act
    const result = healthReported.safeParse({ ...detail, errorRatePercent: 140 });

    // Assess
    expect(result.error?.issues.map((issue) => issue.path.join('.'))).toEqual(['errorRatePercent']);
  });

  describe('the bounds of a Health Reported', () => {
    const { detail } = loadFixture('health-reported.json');

    it('admits every number at the edges of its bounds', () => {
      const lowest = {
        ...detail,
        errorRatePercent: 0,
        latencyChangePercent: -100,
        criticalErrors: 0,
        securityFindings: 0,
        supportTickets: 0,
      };
      const highest = {
        ...detail,
        errorRatePercent: 100,
        latencyChangePercent: 10_000,
        criticalErrors: 1_000_000,
        securityFindings: 1_000_000,
        supportTickets: 1_000_000,
      };

      expect(healthReported.parse(lowest)).toEqual(lowest);
      expect(healthReported.parse(highest)).toEqual(highest);
    });

    it.each([
      { field: 'latencyChangePercent', value: 1e308, message: 'Too big: expected number to be <=10000' },
      { field: 'latencyChangePercent', value: -100.01, message: 'Too small: expected number to be >=-100' },
      { field: 'errorRatePercent', value: -0.1, message: 'Too small: expected number to be >=0' },
      { field: 'criticalErrors', value: 1_000_001, message: 'Too big: expected number to be <=1000000' },
      { field: 'securityFindings', value: 5_000_000, message: 'Too big: expected number to be <=1000000' },
      { field: 'supportTickets', value: 0.5, message: 'Invalid input: expected int, received number' },
    ])('refuses $field $value, naming the bound', ({ field, value, message }) => {
      const result = healthReported.safeParse({ ...detail, [field]: value });

      expect(result.error?.issues.map((issue) => [issue.path.join('.'), issue.message])).toEqual([
        [field, message],
      ]);
    });
  });

  it.each([
    { fixture: 'deployment-succeeded.json', schema: deploymentSucceeded },
    { fixture: 'deployment-failed.json', schema: deploymentFailed },
  ])('bounds the strings of $fixture', ({ fixture, schema }) => {
    // Prepare
    const { detail } = loadFixture(fixture);
    const tooLong = {
      ...detail,
      correlationId: `v1.1.0/${'c'.repeat(CONTRACT_BOUNDS.correlationIdLength)}`,
      customerId: 'c'.repeat(CONTRACT_BOUNDS.customerIdLength + 1),
      version: `v1.1.${'0'.repeat(CONTRACT_BOUNDS.versionLength)}`,
      ...('reason' in detail ? { reason: 'r'.repeat(CONTRACT_BOUNDS.reasonLength + 1) } : {}),
    };

    // Act
    const result = schema.safeParse(tooLong);

    // Assess
    expect(result.error?.issues.map((issue) => issue.path.join('.')).sort()).toEqual(
      ['correlationId', 'customerId', 'version', ...('reason' in detail ? ['reason'] : [])].sort(),
    );
  });

  describe('minor version 1.1 of Health Reported', () => {
    const { detail: v1 } = loadFixture('health-reported.json');
    const { detail: v11 } = loadFixture('health-reported-1.1.json');

    it('adds database corruption and a customer’s rollback request, parsed unchanged', () => {
      expect(healthReported.parse(v11)).toEqual(v11);
      expect(v11).toMatchObject({ schemaVersion: SCHEMA_VERSION_1_1, databaseCorruption: false });
    });

    it('keeps a version 1 sender working: its report parses as before, without the new fields', () => {
      const parsed = healthReported.parse(v1);

      expect(parsed).toEqual(v1);
      expect(parsed).not.toHaveProperty('databaseCorruption');
      expect(parsed).not.toHaveProperty('rollbackRequested');
    });

    it('admits a 1.1 report that leaves the new fields out', () => {
      const { databaseCorruption: _, rollbackRequested: __, ...without } = v11;

      expect(healthReported.parse(without)).toEqual(without);
    });

    it.each(['databaseCorruption', 'rollbackRequested'])(
      'refuses %s from a sender that says version 1, naming the version to send',
      (field) => {
        const result = healthReported.safeParse({ ...v1, [field]: v11[field] });

        expect(result.error?.issues.map((issue) => [issue.path.join('.'), issue.message])).toEqual([
          [field, `${field} is a field of schema version 1.1: send "schemaVersion": "1.1"`],
        ]);
      },
    );

    it('refuses a rollback request that does not say who asks or why', () => {
      const result = healthReported.safeParse({ ...v11, rollbackRequested: { by: ' ', reason: '' } });

      expect(result.error?.issues.map((issue) => issue.path.join('.')).sort()).toEqual([
        'rollbackRequested.by',
        'rollbackRequested.reason',
      ]);
    });

    it('refuses a schema version it does not know', () => {
      expect(healthReported.safeParse({ ...v11, schemaVersion: '1.2' }).success).toBe(false);
    });
  });
});
