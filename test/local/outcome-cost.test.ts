import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { recordOutcome } from '../../lambdas/application/outcomes.js';
import { TRANSITIONS } from '../../lambdas/core/lifecycle.js';
import { dynamo, resetClients } from '../../lambdas/shared/clients.js';
import { useClock, useRealClock } from '../../lambdas/shared/clock.js';
import { applyTransition } from '../../lambdas/store/customers.js';
import { claimDeployment } from '../../lambdas/store/deployment-claims.js';
import { fleetCustomers } from '../../lambdas/store/fleet.js';
import { counterShardOf, getStep, totalCounterShards } from '../../lambdas/store/steps.js';
import type { LocalDynamoDb } from '../../local/dynamodb.js';
import { importSampleFleet, startReleaseTable } from './support/release-table.js';
import { runningReleaseWithStandardStep } from './support/standard-step.js';

// What recording a customer's outcome costs the store, request by request, on dynalite. The lifecycle
// transition and its step count are one request each; a deployed customer's fleet version and its
// deployment claim cost three more.

let database: LocalDynamoDb;
let requests: string[] = [];
let releaseNumber = 0;
let release: string;
const customerIds: string[] = [];

beforeAll(async () => {
  database = await startReleaseTable();
  await importSampleFleet();
  for await (const customer of fleetCustomers()) customerIds.push(customer.id);
  dynamo().middlewareStack.add(
    (next, context) => async (args) => {
      requests.push(`${String(context.commandName)} ${targetOf(args.input as Record<string, unknown>)}`);
      return next(args);
    },
    { step: 'initialize', name: 'countRequests' },
  );
  useClock({ now: () => '2027-03-13T02:41:00.000Z' });
});

afterAll(async () => {
  useRealClock();
  resetClients();
  await database.stop();
});

/** What a request reads or writes, by aggregate. */
function targetOf(input: Record<string, unknown>): string {
  const key = input.Key as { PK: string; SK: string } | undefined;
  if (!key) return Object.keys((input.RequestItems as object | undefined) ?? {}).length ? 'batch' : '';
  if (key.PK.startsWith('DEPLOYMENT#')) return 'deployment claim';
  if (key.PK.includes('#SHARD#')) return 'step counter shard';
  if (key.SK.startsWith('CUSTOMER#') && key.PK.startsWith('RELEASE#')) return 'customer';
  if (key.SK.startsWith('CUSTOMER#')) return 'fleet customer';
  return `${key.PK} / ${key.SK}`;
}

/** A running release of the sample fleet, every customer in step standard_1, each deployment requested. */
beforeEach(async () => {
  releaseNumber += 1;
  release = `v2.${releaseNumber}.0`;
  await runningReleaseWithStandardStep(
    release,
    customerIds.map((id) => ({ id })),
  );
  const cause = { at: '2027-03-13T01:00:00.000Z', by: 'test' };
  for (const id of customerIds) {
    await applyTransition(release, id, TRANSITIONS.schedule, cause);
    await applyTransition(release, id, TRANSITIONS.requestDeployment, cause, {
      deploymentRequestedAt: cause.at,
    });
    await claimDeployment(id, release, cause.at);
  }
  // The release awaits the step: its counter shards know how many customers each counts.
  await totalCounterShards(release, 'standard_1');
});

/** The store requests `act` makes. */
async function requestsOf(act: () => Promise<unknown>): Promise<string[]> {
  requests = [];
  await act();
  return requests;
}

/** A customer whose counter shard counts others too: its outcome, counted first, leaves the shard open. */
const routineCustomer = () =>
  customerIds.find(
    (id) => customerIds.filter((other) => counterShardOf(other) === counterShardOf(id)).length > 1,
  ) ?? '';

const recordDeployed = (id: string) => recordOutcome(release, id, 'deployed', { by: 'customer rollout' });

describe('what recording an outcome costs the store', () => {
  it('costs five requests for a routine deployed outcome: the transition and its step count, the fleet’s version read and written, the deployment claim given back', async () => {
    const deployed = await requestsOf(() => recordDeployed(routineCustomer()));

    expect(deployed).toEqual([
      'UpdateItemCommand customer',
      'GetItemCommand fleet customer',
      'UpdateItemCommand fleet customer',
      'UpdateItemCommand deployment claim',
      'UpdateItemCommand step counter shard',
    ]);
    expect(await getStep(release, 'standard_1')).toMatchObject({ recorded: 1, deployed: 1 });
  });

  it('costs four requests for a routine failed outcome: the transition, the claim, the step count and a read of the step', async () => {
    const failed = await requestsOf(() =>
      recordOutcome(release, routineCustomer(), 'failed', { by: 'customer rollout', reason: 'timed out' }),
    );

    expect(failed).toEqual([
      'UpdateItemCommand customer',
      'UpdateItemCommand deployment claim',
      'UpdateItemCommand step counter shard',
      'BatchGetItemCommand batch',
    ]);
    expect(await getStep(release, 'standard_1')).toMatchObject({ recorded: 1, failed: 1 });
  });

  it('costs six requests for a redelivered deployed outcome, which counts nothing more', async () => {
    await recordDeployed(routineCustomer());

    const again = await requestsOf(() => recordDeployed(routineCustomer()));

    expect(again).toEqual([
      'UpdateItemCommand customer',
      'GetItemCommand customer',
      'GetItemCommand fleet customer',
      'UpdateItemCommand deployment claim',
      'UpdateItemCommand step counter shard',
      'BatchGetItemCommand batch',
    ]);
    expect(await getStep(release, 'standard_1')).toMatchObject({ recorded: 1, deployed: 1 });
  });
});
