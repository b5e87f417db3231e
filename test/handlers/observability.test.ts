import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handler as awaitDecision } from '../../lambdas/handlers/await-decision.js';
import { handler as recordDeploymentResult } from '../../lambdas/handlers/record-deployment-result.js';
import { handler as requestApproval } from '../../lambdas/handlers/request-approval.js';
import { handler as requestDeployment } from '../../lambdas/handlers/request-deployment.js';
import {
  anEnterpriseCustomer,
  aStandardCustomer,
  deploymentRequested,
  givenCustomer,
  givenRelease,
  notYetNoticed,
  RELEASE,
  scheduled,
} from './support/given.js';
import { type CapturedLogs, captureLogs } from './support/logs.js';
import {
  busEvent,
  confirmationCodeShownOn,
  whenTheApproverPresses,
  whenTheLinkIsOpened,
} from './support/when.js';
import {
  emailsSent,
  errorFrom,
  givenTheTimeIs,
  resetWorld,
  restoreRealClock,
  SIGNING_KEY,
} from './support/world.js';

// Every function logs JSON lines through Powertools Logger, each naming the release, step, customer and
// execution it is about, and counts what happened in CloudWatch metrics. No line ever holds a secret.

const EXECUTION =
  'arn:aws:states:us-east-1:111111111111:execution:securewatch-release-v1-1-0-customer:v1-1-0-x';
const APPROVAL_TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAapproval-task-token-secret';
const DEPLOYMENT_TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAdeployment-task-token-secret';
const DECISION_TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAdecision-task-token-secret';
const NOTIFIED = { noticeAt: '2027-03-05T09:00:00Z', noticeSentAt: '2027-03-05T09:00:00Z' };

const deploymentSucceeded = () =>
  busEvent('Deployment Succeeded', {
    schemaVersion: '1',
    correlationId: 'v1.1.0/northwind-logistics',
    customerId: 'northwind-logistics',
    version: 'v1.1.0',
    completedAt: '2027-03-13T02:41:00Z',
  });

let logs: CapturedLogs;

beforeEach(() => {
  resetWorld();
  givenRelease('running');
  givenTheTimeIs('2027-03-13T01:00:00.000Z');
});
afterEach(() => logs.stop());
afterAll(restoreRealClock);

describe("the functions' logs and metrics", () => {
  it('name the release, the customer and the execution a task runs for, and count the deployment requested', async () => {
    // Prepare
    logs = captureLogs();
    givenCustomer(scheduled(aStandardCustomer(NOTIFIED)));

    // Act
    await requestDeployment({
      release: RELEASE,
      customerId: 'northwind-logistics',
      taskToken: DEPLOYMENT_TOKEN,
      execution: EXECUTION,
    });

    // Assess
    expect(logs.lines()).toEqual([
      expect.objectContaining({
        level: 'INFO',
        message: 'Deployment requested',
        service: 'securewatch-orchestrator',
        release: RELEASE,
        customer: 'northwind-logistics',
        execution: EXECUTION,
      }),
    ]);
    expect(logs.metrics()).toEqual({ DeploymentsRequested: 1 });
  });

  it('count the first report of a deployment, not its redelivery', async () => {
    // Prepare
    logs = captureLogs();
    givenCustomer(deploymentRequested(aStandardCustomer(), { deploymentToken: DEPLOYMENT_TOKEN }));

    // Act
    await recordDeploymentResult(deploymentSucceeded());
    await recordDeploymentResult(deploymentSucceeded());

    // Assess
    expect(logs.metrics()).toEqual({ DeploymentsSucceeded: 1 });
    expect(logs.lines()).toEqual([
      expect.objectContaining({
        message: 'Deployment succeeded',
        release: RELEASE,
        customer: 'northwind-logistics',
      }),
    ]);
  });

  it('keep a late deployment report that is dropped, with the reason, and count it', async () => {
    // Prepare
    logs = captureLogs();
    givenCustomer({
      ...deploymentRequested(aStandardCustomer(), { deploymentToken: DEPLOYMENT_TOKEN }),
      state: 'failed',
    });

    // Act
    const result = await recordDeploymentResult(deploymentSucceeded());

    // Assess
    expect(result).toEqual({ recorded: false });
    expect(logs.lines()).toEqual([
      expect.objectContaining({
        level: 'WARN',
        message: 'Deployment report dropped',
        release: RELEASE,
        customer: 'northwind-logistics',
        reason: 'the rollout already ended (failed): the report came too late',
      }),
    ]);
    expect(logs.metrics()).toEqual({ DeploymentReportsDropped: 1 });
  });

  it('never hold a task token, a link signature, a confirmation code or the signing key', async () => {
    // Prepare: every line, down to DEBUG
    logs = captureLogs('DEBUG');
    givenTheTimeIs('2027-03-23T09:00:00.000Z');
    givenCustomer(anEnterpriseCustomer());
    givenCustomer(notYetNoticed(scheduled(aStandardCustomer())));

    // Act: an approval asked, its link opened, answered wrongly, altered, then approved twice; a task that
    // fails with its token; a release parked with its token.
    await requestApproval({
      release: RELEASE,
      customerId: 'contoso-bank',
      taskToken: APPROVAL_TOKEN,
      execution: EXECUTION,
    });
    const link = /https:\/\/\S+/.exec(emailsSent()[0]?.text ?? '')?.[0] ?? '';
    const page = await whenTheLinkIsOpened(link);
    const code = confirmationCodeShownOn(page);
    await whenTheApproverPresses('Approve', page, link, { typed: 'WRONG2' });
    await whenTheApproverPresses('Approve', page, link, {
      tamper: (form) => form.set('signature', 'forged-signature-0123456789'),
    });
    await whenTheApproverPresses('Approve', page, link);
    await whenTheApproverPresses('Approve', page, link);
    await errorFrom(() =>
      requestDeployment({ release: RELEASE, customerId: 'northwind-logistics', taskToken: DEPLOYMENT_TOKEN }),
    );
    await awaitDecision({ release: RELEASE, state: 'Standard · halted', taskToken: DECISION_TOKEN });

    // Assess: the lines say what happened...
    const messages = logs.lines().map((line) => line.message);
    expect(messages).toEqual(
      expect.arrayContaining([
        'Approval not confirmed',
        'Approval link refused',
        'Approval decided',
        'Invocation failed',
      ]),
    );
    // ...and none of the secrets
    const signatures = new URL(link).searchParams;
    const secrets = [
      APPROVAL_TOKEN,
      DEPLOYMENT_TOKEN,
      DECISION_TOKEN,
      String(signatures.get('approve')),
      String(signatures.get('reject')),
      code,
      SIGNING_KEY,
    ];
    for (const secret of secrets) expect(logs.text()).not.toContain(secret);
    expect(logs.metrics()).toEqual({ ApprovalsApproved: 1 });
  });
});
