import { AsyncLocalStorage } from 'node:async_hooks';
import { Logger, type LogItem } from '@aws-lambda-powertools/logger';
import type { LogItemExtraInput, LogItemMessage, LogLevel } from '@aws-lambda-powertools/logger/types';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE, type MetricName, SERVICE_NAME } from './metric-names.js';

// Logs, metrics and traces for every function, through Powertools for AWS Lambda. The functions' environment
// (lib/constructs/orchestrator-function.ts) names the service, the log level and the metrics namespace;
// these defaults apply where it does not (tests, the CLI).

/** What a log line says it is about, when known. */
export interface LogKeys {
  /** The release's version. */
  release?: string;
  step?: string;
  customer?: string;
  /** The Step Functions execution the task runs in, or the execution an event is about. */
  execution?: string;
  /** The function's name, e.g. `securewatch-request-approval`. */
  operation?: string;
}

/** Keys whose values are secrets (task tokens, link signatures, confirmation codes, keys): never printed. */
const SECRET_KEY = /token|signature|confirmation|signingkey|secret|password|^approve$|^reject$/i;

const invocation = new AsyncLocalStorage<LogKeys>();
type LineSink = (line: string) => void;
let sink: LineSink | undefined;

/**
 * The one logger. Each line carries the keys of the invocation it was written in (held per invocation, so
 * the local runtime's interleaved invocations keep theirs apart), and never the value of a secret key.
 */
class OrchestratorLogger extends Logger {
  protected override processLogItem(
    logLevel: number,
    input: LogItemMessage,
    extraInput: LogItemExtraInput,
  ): void {
    const keys = invocation.getStore();
    super.processLogItem(
      logLevel,
      input,
      keys ? ([{ ...keys }, ...extraInput] as LogItemExtraInput) : extraInput,
    );
  }

  protected override printLog(logLevel: number, log: LogItem): void {
    if (sink) sink(JSON.stringify(log.getAttributes(), this.getJsonReplacer()));
    else super.printLog(logLevel, log);
  }
}

export const logger = new OrchestratorLogger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME || SERVICE_NAME,
  jsonReplacerFn: (key, value) => (SECRET_KEY.test(key) ? '[redacted]' : value),
});

/** Metrics published to the log sink when there is one (also when Powertools flushes a full buffer itself). */
class OrchestratorMetrics extends Metrics {
  override publishStoredMetrics(): this {
    if (!sink) return super.publishStoredMetrics();
    if (this.hasStoredMetrics()) sink(JSON.stringify(this.serializeMetrics()));
    this.clearMetrics();
    this.clearDimensions();
    this.clearMetadata();
    return this;
  }
}

const metrics = new OrchestratorMetrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE || METRICS_NAMESPACE,
  serviceName: process.env.POWERTOOLS_SERVICE_NAME || SERVICE_NAME,
});

/**
 * Tracing is on in Lambda only (elsewhere there is no X-Ray daemon), unless POWERTOOLS_TRACE_ENABLED is
 * false. Only then is the tracer loaded: the X-Ray SDK's async hooks slow every promise in the process
 * (16 times on a loop of awaits), which the local rehearsal and the tests would pay for nothing.
 */
const tracer =
  process.env.AWS_EXECUTION_ENV && process.env.POWERTOOLS_TRACE_ENABLED !== 'false'
    ? new (await import('@aws-lambda-powertools/tracer')).Tracer({
        serviceName: process.env.POWERTOOLS_SERVICE_NAME || SERVICE_NAME,
      })
    : undefined;

/** The AWS SDK client, traced in X-Ray when tracing is on. */
export function traced<Client>(client: Client): Client {
  return tracer ? tracer.captureAWSv3Client(client) : client;
}

/** Counts one (or `count`) of something in CloudWatch; published when the invocation ends. */
export function countMetric(name: MetricName, count = 1): void {
  metrics.addMetric(name, MetricUnit.Count, count);
}

/** Adds keys to every later log line of the current invocation (e.g. once an event is parsed). */
export function addLogKeys(keys: LogKeys): void {
  const store = invocation.getStore();
  if (!store) return;
  for (const [key, value] of Object.entries(keys)) if (value) store[key as keyof LogKeys] = value;
}

/** The keys a task's or an event's input names: release (or version), step, customer, execution. */
export function logKeysOf(input: unknown): LogKeys {
  if (typeof input !== 'object' || input === null) return {};
  const fields = input as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
  return {
    release: text(fields.release) ?? text(fields.version),
    step: text(fields.step),
    customer: text(fields.customerId),
    execution: text(fields.execution) ?? text(fields.executionArn),
  };
}

/**
 * Runs one invocation of a handler with its log keys, logs its failure (the error's name and message,
 * never the input) and publishes the metrics it counted, whether it succeeded or not.
 */
export async function observeInvocation<Result>(keys: LogKeys, work: () => Promise<Result>): Promise<Result> {
  return invocation.run({}, async () => {
    addLogKeys(keys);
    try {
      return await work();
    } catch (error) {
      const { name, message } = error as Error;
      logger.error('Invocation failed', { error: { name, message } });
      throw error;
    } finally {
      publishMetrics();
    }
  });
}

/** The function's name as Lambda (or the local runtime) gives it in the invocation's context. */
export function operationOf(context: unknown): string | undefined {
  const name = (context as { functionName?: unknown } | undefined)?.functionName;
  return typeof name === 'string' ? name : undefined;
}

function publishMetrics(): void {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
}

let levelBefore: LogLevel | undefined;

/**
 * Sends every log line and metric (EMF) at `level` or above to `write` instead of standard output: the
 * local rehearsal keeps them in its log file, tests read them. `undefined` restores standard output and
 * the level before.
 */
export function writeLogLinesTo(write: LineSink | undefined, level: LogLevel = 'INFO'): void {
  if (write) {
    levelBefore ??= logger.getLevelName();
    logger.setLogLevel(level);
  } else if (levelBefore) {
    logger.setLogLevel(levelBefore);
    levelBefore = undefined;
  }
  sink = write;
}
