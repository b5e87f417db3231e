import { randomBytes, randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { finished } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { forgetPacer } from '../lambdas/email/sender.js';
import { useClientSettings } from '../lambdas/shared/clients.js';
import { useClock, useRealClock } from '../lambdas/shared/clock.js';
import { writeLogLinesTo } from '../lambdas/shared/observability.js';
import { forgetSigningKeys } from '../lambdas/shared/signing-keys.js';
import { PROJECT_ROOT } from '../lib/constructs/orchestrator-function.js';
import { functionNameOf } from '../lib/platform-names.js';
import { ApprovalLinks } from './approval-links.js';
import { startApprovalServer } from './approval-server.js';
import { IN_PROCESS_DYNAMODB_PASS_THROUGH, localClientSettings } from './aws-client-config.js';
import { type ApiOperation, startAwsEndpoint } from './aws-endpoint.js';
import type { SimulatedClock } from './clock.js';
import { createTablesFromTemplate, startLocalDynamoDb } from './dynamodb.js';
import { type LocalEmailServer, startLocalEmail } from './email.js';
import { LocalEventBus } from './event-bus.js';
import { LocalQueues } from './queue.js';
import { LocalSecrets } from './secrets.js';
import { LocalApiError, LocalStepFunctions } from './step-functions.js';
import {
  asksApprovers,
  LOCAL_ACCOUNT,
  LOCAL_REGION,
  type LocalFunction,
  type ResolvedCloud,
  resolveCloud,
  type SynthesizedRelease,
  synthesizeRelease,
} from './templates.js';
import { EXECUTIONS_FILE, recordExecutions, STORE_REQUESTS_FILE } from './workload-recording.js';

export interface LocalCloudOptions {
  /** The release whose stack is deployed from the start; others can be deployed later (`deployRelease`). */
  version?: string;
  clock: SimulatedClock;
  /** Runs every handler twice with the same input, as Step Functions and EventBridge retries may. */
  invokeTwice?: boolean;
  /** Where the functions' log lines and metrics go (JSON lines); default: a file removed at stop. */
  logFile?: string;
  /**
   * A folder where the stand-ins' workload is written as it happens (every DynamoDB request, every
   * execution and task result), for the bench's floor. Off by default.
   */
  recordWorkloadTo?: string;
}

export interface Invocation {
  fn: LocalFunction;
  payload: unknown;
  result?: unknown;
  error?: Error;
}

export interface LocalCloud {
  templates: SynthesizedRelease;
  cloud: ResolvedCloud;
  stepFunctions: LocalStepFunctions;
  bus: LocalEventBus;
  /** The template's queues; every email goes through the email queue to the sender function. */
  queues: LocalQueues;
  email: LocalEmailServer;
  /** The template's secrets, served to the handlers as Secrets Manager would. */
  secrets: LocalSecrets;
  /** The review link of each approval request, from the emails as they are sent. */
  approvalLinks: ApprovalLinks;
  approvalUrl: string;
  /** The functions' log lines and metrics (EMF), one JSON object a line, as CloudWatch Logs would hold them. */
  logFile: string;
  /** The first release's state machine (the one `version` named). */
  releaseStateMachineArn: string;
  /** What every handler's environment holds here (table, bus, queue, endpoints…): the commands use it too. */
  environment: Readonly<Record<string, string>>;
  /** The local AWS endpoint (Step Functions, EventBridge, SQS, Secrets Manager, and the local-only operations). */
  endpointUrl: string;
  /** Deploys a release's stack (its state machines and rules), as `cdk deploy -c version=…` would; once each. */
  deployRelease(version: string): void;
  /** Adds operations to the local endpoint (`X-Amz-Target`), e.g. the local stack's own. */
  addOperations(added: Record<string, ApiOperation>): void;
  onInvoked(listener: (invocation: Invocation) => void): void;
  onInvoking(listener: (invocation: Invocation) => void): void;
  /** Makes matching invocations fail with the error `fault` returns, as a broken function would (tests). */
  injectFault(fault: (invocation: Invocation) => Error | undefined): void;
  invoke(functionArn: string, payload: unknown): Promise<unknown>;
  /** DynamoDB requests the local table has served so far, by operation (`GetItem`, `UpdateItem`…). */
  storeRequestCounts(): Record<string, number>;
  /** Lambda invocations so far, by the function's operation. */
  invocationCounts(): Record<string, number>;
  stop(): Promise<void>;
}

/**
 * Brings up the synthesized stacks on local stand-ins: tables on dynalite, email on aws-ses-v2-local,
 * the approval API on a loopback port, the bus and Step Functions in-process, and every Lambda function
 * as its real handler module with the environment its template gives it.
 */
export async function startLocalCloud(options: LocalCloudOptions): Promise<LocalCloud> {
  const workdir = mkdtempSync(join(tmpdir(), 'securewatch-rehearsal-'));
  const templates = synthesizeRelease(options.version, join(workdir, 'cdk.out'));
  const recordTo = options.recordWorkloadTo;
  if (recordTo) mkdirSync(recordTo, { recursive: true });
  const database = await startLocalDynamoDb({
    recordTo: recordTo ? join(recordTo, STORE_REQUESTS_FILE) : undefined,
  });
  const tables = await createTablesFromTemplate(
    templates.platform,
    database.endpoint,
    (id) => `securewatch-${id}`,
  );
  const email = await startLocalEmail();
  const approvals = await startApprovalServer((request) => options.clock.track(request));
  // Started first, so queue URLs can point at it; its operations are filled in below.
  const operations: Record<string, ApiOperation> = {};
  const endpoint = await startAwsEndpoint((request) => options.clock.track(request), operations);
  const names = {
    tables,
    approvalApiUrl: approvals.url,
    signingKey: randomBytes(32).toString('base64url'),
    queueBaseUrl: endpoint.url,
  };
  const cloud = resolveCloud(templates, names);
  const deployed = new Set(options.version ? [options.version] : []);
  const deployRelease = (version: string) => {
    if (deployed.has(version)) return;
    const added = synthesizeRelease(version, join(workdir, `cdk.out-${deployed.size}`));
    const resolved = resolveCloud(added, names);
    for (const [arn, machine] of resolved.stateMachines)
      if (!cloud.stateMachines.has(arn)) cloud.stateMachines.set(arn, machine);
    const releaseResources = new Set(Object.keys(added.release.Resources ?? {}));
    // The bus reads the rule list as events arrive, so the new release's rules apply from now on.
    for (const rule of resolved.rules) if (releaseResources.has(rule.logicalId)) cloud.rules.push(rule);
    deployed.add(version);
  };

  const listeners = new Set<(invocation: Invocation) => void>();
  const startListeners = new Set<(invocation: Invocation) => void>();
  const faults = new Set<(invocation: Invocation) => Error | undefined>();
  const modules = new Map<
    string,
    Promise<{ handler: (event: unknown, context: unknown) => Promise<unknown> }>
  >();
  // Invocations still running; once the local cloud stops, none starts and those running are waited for.
  const running = new Set<Promise<unknown>>();
  const invocationCounts: Record<string, number> = {};
  let stopped = false;
  const invoke = (functionArn: string, payload: unknown): Promise<unknown> => {
    if (stopped) return Promise.reject(new Error(`The local cloud has stopped; ${functionArn} is not run`));
    const invocation = options.clock.track(run(functionArn, payload));
    running.add(invocation);
    const settled = () => running.delete(invocation);
    invocation.then(settled, settled);
    return invocation;
  };
  const run = async (functionArn: string, payload: unknown): Promise<unknown> => {
    const fn = cloud.functions.get(functionArn);
    if (!fn) throw new Error(`No function ${functionArn} in the synthesized templates`);
    invocationCounts[fn.operation] = (invocationCounts[fn.operation] ?? 0) + 1;
    let module = modules.get(fn.entry);
    if (!module) {
      module = import(pathToFileURL(join(PROJECT_ROOT, fn.entry)).href);
      modules.set(fn.entry, module);
    }
    const invocation: Invocation = { fn, payload };
    for (const listener of startListeners) listener(invocation);
    try {
      const { handler } = await module;
      for (const fault of faults) {
        const error = fault(invocation);
        if (error) throw error;
      }
      const context = { functionName: functionNameOf(fn.operation) };
      if (options.invokeTwice) await handler(structuredClone(payload), context);
      invocation.result = await handler(structuredClone(payload), context);
      return invocation.result;
    } catch (error) {
      invocation.error = error as Error;
      throw error;
    } finally {
      for (const listener of listeners) listener(invocation);
    }
  };

  const track = (work: Promise<unknown>) => void options.clock.track(work).catch(() => {});
  const deliver = (arn: string, event: { 'detail-type': string; id: string }) =>
    invoke(arn, event).catch((error: Error) => {
      // EventBridge would retry; locally the failure is shown and the event dropped.
      console.error(`⚠ delivery of ${event['detail-type']} ${event.id} to ${arn} failed: ${error.message}`);
    });
  const bus = new LocalEventBus(cloud.rules, deliver, track);
  // Scheduled rules run on the simulated clock, from one period after the start, as EventBridge would.
  for (const schedule of cloud.schedules) {
    const firstAt = new Date(Date.parse(options.clock.now()) + schedule.everyMs).toISOString();
    options.clock.every(schedule.everyMs, firstAt, () =>
      Promise.all(
        schedule.targetArns.map((arn) =>
          deliver(arn, scheduledEvent(schedule.logicalId, options.clock.now())),
        ),
      ),
    );
  }
  const stepFunctions = new LocalStepFunctions(options.clock, cloud.stateMachines, invoke, (task) =>
    asksApprovers(cloud, task),
  );
  // Step Functions reports its executions' status changes on the default bus, where the template's rules
  // on them (the customer rollouts' end) pick them up.
  stepFunctions.onStatusChange((entry) => bus.putEvents([entry], options.clock.now()));
  const executionRecording = recordTo ? recordExecutions(join(recordTo, EXECUTIONS_FILE)) : undefined;
  if (executionRecording) stepFunctions.recordTasks(executionRecording);
  const queues = new LocalQueues(options.clock, cloud.queues, cloud.queueConsumers, invoke);
  const secrets = new LocalSecrets(cloud.secrets);
  Object.assign(operations, {
    'AmazonSQS.SendMessage': (body) => queues.sendMessage(body),
    'AmazonSQS.SendMessageBatch': (body) => queues.sendMessageBatch(body),
    'AWSStepFunctions.SendTaskSuccess': (body) =>
      stepFunctions.sendTaskSuccess(String(body.taskToken), JSON.parse(String(body.output))),
    'AWSStepFunctions.SendTaskFailure': (body) =>
      stepFunctions.sendTaskFailure(
        String(body.taskToken),
        String(body.error ?? 'Error'),
        String(body.cause ?? ''),
      ),
    'AWSStepFunctions.StartExecution': (body) => {
      const execution = stepFunctions.startExecution(
        String(body.stateMachineArn),
        String(body.name),
        JSON.parse(String(body.input ?? '{}')),
      );
      return { executionArn: execution.executionArn, startDate: Date.now() / 1000 };
    },
    'AWSStepFunctions.DescribeExecution': (body) => {
      const execution = stepFunctions.executions.get(String(body.executionArn));
      if (!execution)
        throw new LocalApiError(
          'ExecutionDoesNotExist',
          `Execution does not exist: ${String(body.executionArn)}`,
        );
      return {
        executionArn: execution.executionArn,
        stateMachineArn: execution.stateMachineArn,
        name: execution.name,
        status: execution.status,
        input: JSON.stringify(execution.input),
        startDate: Date.now() / 1000,
      };
    },
    'AWSEvents.PutEvents': (body) => bus.putEvents(body.Entries as never, options.clock.now()),
    'secretsmanager.GetSecretValue': (body) => secrets.getSecretValue(body),
    'secretsmanager.PutSecretValue': (body) => secrets.putSecretValue(body),
  } satisfies Record<string, ApiOperation>);
  for (const route of cloud.approvalRoutes)
    approvals.route(route.routeKey, (event) => invoke(route.functionArn, event) as never);

  // Every handler runs in this one process, so they share one environment: the union of the functions'.
  const environment: Record<string, string> = {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: database.endpoint,
    AWS_ENDPOINT_URL_SESV2: email.endpoint,
    AWS_ENDPOINT_URL_SFN: endpoint.url,
    AWS_ENDPOINT_URL_EVENTBRIDGE: endpoint.url,
    AWS_ENDPOINT_URL_SQS: endpoint.url,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint.url,
  };
  for (const fn of cloud.functions.values()) Object.assign(environment, fn.environment);
  // The local SES enforces no sending rate; the sender paces to the quota it reports (GetAccount), capped
  // as configured. The sandbox's 1/s would only slow the rehearsal down.
  environment.SES_MAX_SEND_RATE = String(LOCAL_SEND_RATE);
  // The local queue delivers one batch at a time: its one sender has the whole rate.
  environment.EMAIL_SENDERS = '1';
  environment.AWS_SES_ACCOUNT = localSesAccount(LOCAL_SEND_RATE);
  // No X-Ray daemon here.
  environment.POWERTOOLS_TRACE_ENABLED = 'false';
  const previous = Object.fromEntries(Object.keys(environment).map((key) => [key, process.env[key]]));
  Object.assign(process.env, environment);
  // The handlers' SDK clients talk to stand-ins that check no signature; to dynalite without HTTP.
  useClientSettings((service) =>
    service === 'dynamodb'
      ? {
          ...localClientSettings(),
          requestHandler: database.requestHandler,
          passThrough: IN_PROCESS_DYNAMODB_PASS_THROUGH,
        }
      : localClientSettings(),
  );
  forgetSigningKeys();
  forgetPacer();
  useClock(options.clock);
  // The functions' log lines go to the rehearsal's log file, not the terminal.
  const logFile = options.logFile ?? join(workdir, 'orchestrator.log');
  mkdirSync(dirname(logFile), { recursive: true });
  const logStream = createWriteStream(logFile, { flags: 'a' });
  writeLogLinesTo((line) => logStream.write(`${line}\n`));

  const releaseStateMachineArn = cloud.roles.get('release');
  if (options.version && !releaseStateMachineArn)
    throw new Error('The release template has no release state machine');

  return {
    templates,
    cloud,
    stepFunctions,
    bus,
    queues,
    secrets,
    email,
    approvalLinks: new ApprovalLinks(email),
    approvalUrl: approvals.url,
    logFile,
    releaseStateMachineArn: releaseStateMachineArn ?? '',
    environment,
    endpointUrl: endpoint.url,
    deployRelease,
    addOperations: (added) => Object.assign(operations, added),
    onInvoked: (listener) => listeners.add(listener),
    onInvoking: (listener) => startListeners.add(listener),
    injectFault: (fault) => faults.add(fault),
    invoke,
    storeRequestCounts: () => database.requestCounts(),
    invocationCounts: () => ({ ...invocationCounts }),
    async stop() {
      stopped = true;
      stepFunctions.stop();
      await Promise.allSettled([...running]);
      options.clock.stop();
      useRealClock();
      useClientSettings();
      forgetSigningKeys();
      forgetPacer();
      await Promise.allSettled([
        endpoint.stop(),
        approvals.stop(),
        email.stop(),
        database.stop(),
        executionRecording?.close(),
      ]);
      writeLogLinesTo(undefined);
      logStream.end();
      await finished(logStream).catch(() => {});
      for (const [key, value] of Object.entries(previous)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      rmSync(workdir, { recursive: true, force: true });
    },
  };
}

/** The event EventBridge gives a scheduled rule's target. */
function scheduledEvent(ruleLogicalId: string, time: string) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: LOCAL_ACCOUNT,
    time,
    region: LOCAL_REGION,
    resources: [`arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:rule/${ruleLogicalId}`],
    detail: {},
  };
}

/** Emails per second the local SES reports as its quota, and the configured cap locally. */
export const LOCAL_SEND_RATE = 1000;

/** What aws-ses-v2-local answers to GetAccount (it reads AWS_SES_ACCOUNT). */
export function localSesAccount(maxSendRate: number): string {
  return JSON.stringify({
    DedicatedIpAutoWarmupEnabled: false,
    Details: {
      AdditionalContactEmailAddresses: [],
      ContactLanguage: 'EN',
      MailType: 'TRANSACTIONAL',
      ReviewDetails: { CaseId: 'local', Status: 'GRANTED' },
      UseCaseDescription: 'SecureWatch release orchestrator rehearsal',
      WebsiteURL: 'https://securewatch.example.com',
    },
    EnforcementStatus: 'HEALTHY',
    ProductionAccessEnabled: true,
    SendingEnabled: true,
    SendQuota: { Max24HourSend: 1_000_000, MaxSendRate: maxSendRate, SentLast24Hours: 0 },
    SuppressionAttributes: { SuppressedReasons: [] },
  });
}
