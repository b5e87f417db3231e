import { createHash, randomUUID } from 'node:crypto';
import type { SimulatedClock } from './clock.js';
import { LocalApiError } from './step-functions.js';
import type { LocalQueueConsumer, LocalQueueDefinition } from './templates.js';

/** SQS refuses a message body over 256 KiB. */
const MAX_MESSAGE_BYTES = 256 * 1024;
const MAX_BATCH_ENTRIES = 10;

interface QueuedMessage {
  messageId: string;
  body: string;
  receiveCount: number;
  sentAtMs: number;
}

interface QueueState {
  definition: LocalQueueDefinition;
  consumer?: LocalQueueConsumer;
  visible: QueuedMessage[];
  delivering: boolean;
}

export interface QueueDelivery {
  queue: string;
  functionArn: string;
  delivered: number;
  /** Handed back by the function (batch item failures) or failed with it. */
  failed: number;
  realMs: number;
}

/**
 * The template's SQS queues, in-process: a message sent to a queue with an event source mapping is
 * delivered to its function in batches of the mapping's size, one batch at a time (the orchestrator's
 * consumer has a reserved concurrency of 1). Items the function reports failed come back after the
 * queue's visibility timeout, in simulated time, and after the redrive policy's receive count move to the
 * dead-letter queue. Deliveries are tracked work: simulated time stands still while a queue has messages
 * to deliver.
 */
export class LocalQueues {
  readonly #byArn = new Map<string, QueueState>();
  readonly #byUrl = new Map<string, QueueState>();
  readonly #drainWaiters = new Set<() => void>();
  readonly #deliveryListeners = new Set<(delivery: QueueDelivery) => void>();

  constructor(
    private readonly clock: SimulatedClock,
    definitions: LocalQueueDefinition[],
    consumers: LocalQueueConsumer[],
    private readonly invoke: (functionArn: string, event: unknown) => Promise<unknown>,
  ) {
    for (const definition of definitions) {
      const state: QueueState = { definition, visible: [], delivering: false };
      this.#byArn.set(definition.arn, state);
      this.#byUrl.set(definition.url, state);
    }
    for (const consumer of consumers) {
      const queue = this.#byArn.get(consumer.queueArn);
      if (!queue)
        throw new Error(`Event source mapping ${consumer.logicalId} reads no queue of the templates`);
      if (queue.consumer)
        throw new Error(`Queue ${queue.definition.logicalId} has two consumers; the local runtime runs one`);
      queue.consumer = consumer;
    }
  }

  sendMessage(request: Record<string, unknown>): { MessageId: string; MD5OfMessageBody: string } {
    const queue = this.#queue(request.QueueUrl);
    const sent = this.#accept(queue, request.MessageBody);
    this.#deliverFrom(queue);
    return sent;
  }

  sendMessageBatch(request: Record<string, unknown>) {
    const queue = this.#queue(request.QueueUrl);
    const entries = request.Entries;
    if (!Array.isArray(entries) || entries.length === 0)
      throw new LocalApiError('EmptyBatchRequest', 'SendMessageBatch needs at least one entry');
    if (entries.length > MAX_BATCH_ENTRIES)
      throw new LocalApiError(
        'TooManyEntriesInBatchRequest',
        `SendMessageBatch takes at most ${MAX_BATCH_ENTRIES} entries, got ${entries.length}`,
      );
    const successful = (entries as { Id?: unknown; MessageBody?: unknown }[]).map((entry) => ({
      Id: String(entry.Id),
      ...this.#accept(queue, entry.MessageBody),
    }));
    this.#deliverFrom(queue);
    return { Successful: successful, Failed: [] };
  }

  /** The bodies waiting on a queue, e.g. a dead-letter queue (by its logical id). */
  waiting(logicalId: string): string[] {
    const queue = [...this.#byArn.values()].find((each) => each.definition.logicalId === logicalId);
    if (!queue) throw new Error(`No queue ${logicalId} in the templates`);
    return queue.visible.map((message) => message.body);
  }

  /** Resolves when no queue with a consumer has a message to deliver or a batch in flight. */
  drained(): Promise<void> {
    if (this.#isDrained()) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.add(resolve));
  }

  onDelivered(listener: (delivery: QueueDelivery) => void): void {
    this.#deliveryListeners.add(listener);
  }

  #queue(url: unknown): QueueState {
    const queue = this.#byUrl.get(String(url));
    if (!queue)
      throw new LocalApiError('QueueDoesNotExist', `The specified queue does not exist: ${String(url)}`);
    return queue;
  }

  #accept(queue: QueueState, body: unknown): { MessageId: string; MD5OfMessageBody: string } {
    if (typeof body !== 'string' || body === '')
      throw new LocalApiError('MissingParameter', 'The request must contain the parameter MessageBody.');
    if (Buffer.byteLength(body) > MAX_MESSAGE_BYTES)
      throw new LocalApiError('InvalidParameterValue', `The message body is over ${MAX_MESSAGE_BYTES} bytes`);
    const message: QueuedMessage = {
      messageId: randomUUID(),
      body,
      receiveCount: 0,
      sentAtMs: Date.parse(this.clock.now()),
    };
    queue.visible.push(message);
    return { MessageId: message.messageId, MD5OfMessageBody: md5(body) };
  }

  /** Starts delivering, as tracked work, before the request that sent the messages ends. */
  #deliverFrom(queue: QueueState): void {
    if (queue.delivering || !queue.consumer || queue.visible.length === 0) return;
    queue.delivering = true;
    const consumer = queue.consumer;
    // Pending from now; the first batch is taken a microtask later, with whatever else arrives meanwhile.
    void this.clock
      .track(Promise.resolve().then(() => this.#deliverAll(queue, consumer)))
      .catch((error: Error) => console.error(`⚠ queue ${queue.definition.logicalId}: ${error.message}`))
      // After the clock has seen the delivery end: drained means simulated time may move.
      .finally(() => this.#notifyIfDrained());
  }

  async #deliverAll(queue: QueueState, consumer: LocalQueueConsumer): Promise<void> {
    try {
      while (queue.visible.length > 0) {
        const batch = queue.visible.splice(0, consumer.batchSize);
        for (const message of batch) message.receiveCount += 1;
        const startedMs = Date.now();
        let failed: Set<string>;
        try {
          const result = (await this.invoke(consumer.functionArn, {
            Records: batch.map((message) => this.#record(queue, message)),
          })) as { batchItemFailures?: { itemIdentifier: string }[] } | undefined;
          failed = new Set(
            consumer.reportsBatchItemFailures
              ? (result?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier)
              : [],
          );
        } catch {
          // A failed invocation hands the whole batch back.
          failed = new Set(batch.map((message) => message.messageId));
        }
        for (const message of batch) if (failed.has(message.messageId)) this.#handBack(queue, message);
        const delivery: QueueDelivery = {
          queue: queue.definition.logicalId,
          functionArn: consumer.functionArn,
          delivered: batch.length - failed.size,
          failed: failed.size,
          realMs: Date.now() - startedMs,
        };
        for (const listener of this.#deliveryListeners) listener(delivery);
      }
    } finally {
      queue.delivering = false;
    }
  }

  #notifyIfDrained(): void {
    if (!this.#isDrained()) return;
    for (const resolve of this.#drainWaiters) resolve();
    this.#drainWaiters.clear();
  }

  /** Visible again after the visibility timeout, or moved to the dead-letter queue after too many receives. */
  #handBack(queue: QueueState, message: QueuedMessage): void {
    const redrive = queue.definition.redrive;
    const deadLetters = redrive && this.#byArn.get(redrive.deadLetterArn);
    if (redrive && deadLetters && message.receiveCount >= redrive.maxReceiveCount) {
      deadLetters.visible.push({ ...message, receiveCount: 0 });
      this.#deliverFrom(deadLetters);
      return;
    }
    const visibleAt = new Date(
      Date.parse(this.clock.now()) + queue.definition.visibilityTimeoutSeconds * 1000,
    ).toISOString();
    this.clock
      .at(visibleAt, () => {
        queue.visible.push(message);
        this.#deliverFrom(queue);
      })
      .catch(() => {});
  }

  #record(queue: QueueState, message: QueuedMessage) {
    return {
      messageId: message.messageId,
      receiptHandle: `${message.messageId}#${message.receiveCount}`,
      body: message.body,
      attributes: {
        ApproximateReceiveCount: String(message.receiveCount),
        SentTimestamp: String(message.sentAtMs),
        SenderId: 'local',
        ApproximateFirstReceiveTimestamp: String(Date.parse(this.clock.now())),
      },
      messageAttributes: {},
      md5OfBody: md5(message.body),
      eventSource: 'aws:sqs',
      eventSourceARN: queue.definition.arn,
      awsRegion: 'us-east-1',
    };
  }

  #isDrained(): boolean {
    return [...this.#byArn.values()].every(
      (queue) => !queue.consumer || (!queue.delivering && queue.visible.length === 0),
    );
  }
}

function md5(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}
