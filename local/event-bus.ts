import { randomUUID } from 'node:crypto';
import type { LocalRule } from './templates.js';

export interface BusEvent {
  id: string;
  source: string;
  'detail-type': string;
  detail: Record<string, unknown>;
  time: string;
  'event-bus-name': string;
  account: string;
  region: string;
  resources: string[];
  version: '0';
}

/**
 * The release bus and the default bus, in-process: delivers each event to the targets of the template's
 * rules whose pattern matches (exact-value patterns, the only kind the orchestrator's rules use), and to
 * local listeners.
 */
export class LocalEventBus {
  readonly #listeners = new Set<(event: BusEvent) => void | Promise<void>>();

  constructor(
    private readonly rules: LocalRule[],
    private readonly deliver: (targetArn: string, event: BusEvent) => Promise<unknown>,
    /** Deliveries are asynchronous, as on EventBridge; the clock must still know they are in flight. */
    private readonly track: (delivery: Promise<unknown>) => void,
  ) {}

  listen(listener: (event: BusEvent) => void | Promise<void>): void {
    this.#listeners.add(listener);
  }

  putEvents(
    entries: {
      Source: string;
      DetailType: string;
      Detail: string;
      EventBusName: string;
      Resources?: string[];
    }[],
    now: string,
  ) {
    const results = [];
    for (const entry of entries) {
      const event: BusEvent = {
        version: '0',
        id: randomUUID(),
        source: entry.Source,
        'detail-type': entry.DetailType,
        detail: JSON.parse(entry.Detail) as Record<string, unknown>,
        time: now,
        'event-bus-name': entry.EventBusName,
        account: '000000000000',
        region: 'us-east-1',
        resources: entry.Resources ?? [],
      };
      for (const rule of this.rules) {
        if (
          rule.busName !== entry.EventBusName ||
          !matches(rule.pattern, event as unknown as Record<string, unknown>)
        )
          continue;
        for (const arn of rule.targetArns) this.track(this.deliver(arn, event));
      }
      for (const listener of this.#listeners) this.track(Promise.resolve().then(() => listener(event)));
      results.push({ EventId: event.id });
    }
    return { FailedEntryCount: 0, Entries: results };
  }
}

export function matches(pattern: Record<string, unknown>, event: Record<string, unknown>): boolean {
  return Object.entries(pattern).every(([key, expected]) => {
    const actual = event[key];
    if (Array.isArray(expected)) return expected.includes(actual);
    if (typeof expected === 'object' && expected !== null) {
      return (
        typeof actual === 'object' &&
        actual !== null &&
        matches(expected as Record<string, unknown>, actual as Record<string, unknown>)
      );
    }
    return false;
  });
}
