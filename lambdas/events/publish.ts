import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { events } from '../shared/clients.js';
import { requiredEnv } from '../shared/env.js';
import { TransientError } from '../shared/errors.js';
import { ORCHESTRATOR_SOURCE } from './contract.js';

const MAX_ENTRIES_PER_CALL = 10;
const RETRYABLE_ENTRY_ERRORS = new Set(['ThrottlingException', 'InternalFailure']);

/** Publishes orchestrator events on the release bus, ten per call, failing loudly on partial failure. */
export async function publish(entries: { detailType: string; detail: object }[]): Promise<void> {
  const busName = requiredEnv('EVENT_BUS_NAME');
  for (let start = 0; start < entries.length; start += MAX_ENTRIES_PER_CALL) {
    const chunk = entries.slice(start, start + MAX_ENTRIES_PER_CALL);
    const result = await events().send(
      new PutEventsCommand({
        Entries: chunk.map((entry) => ({
          EventBusName: busName,
          Source: ORCHESTRATOR_SOURCE,
          DetailType: entry.detailType,
          Detail: JSON.stringify(entry.detail),
        })),
      }),
    );
    if ((result.FailedEntryCount ?? 0) > 0) {
      const codes = (result.Entries ?? []).map((entry) => entry.ErrorCode ?? 'unknown');
      const message = `EventBridge refused ${result.FailedEntryCount} event(s): ${codes.join(', ')}`;
      const worthRetrying = codes.every((code) => RETRYABLE_ENTRY_ERRORS.has(code));
      throw worthRetrying ? new TransientError(message) : new Error(message);
    }
  }
}
