import type { LogLevel } from '@aws-lambda-powertools/logger/types';
import { writeLogLinesTo } from '../../../lambdas/shared/observability.js';

/** What the functions wrote while capturing: log lines and metrics (EMF), as CloudWatch would receive them. */
export interface CapturedLogs {
  /** Every line as written. */
  readonly text: () => string;
  /** The log lines (not the metrics), parsed. */
  readonly lines: () => Record<string, unknown>[];
  /** The sum of each metric published. */
  readonly metrics: () => Record<string, number>;
  readonly stop: () => void;
}

/** Captures the functions' log lines (at `level` and above) and metrics until `stop`. */
export function captureLogs(level: LogLevel = 'INFO'): CapturedLogs {
  const written: string[] = [];
  writeLogLinesTo((line) => written.push(line), level);
  const parsed = () => written.map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    text: () => written.join('\n'),
    lines: () => parsed().filter((line) => !('_aws' in line)),
    metrics: () => {
      const sums: Record<string, number> = {};
      for (const line of parsed()) {
        const emf = line._aws as { CloudWatchMetrics: { Metrics: { Name: string }[] }[] } | undefined;
        for (const { Name } of emf?.CloudWatchMetrics.flatMap((each) => each.Metrics) ?? []) {
          const values = ([] as number[]).concat(line[Name] as number | number[]);
          sums[Name] = (sums[Name] ?? 0) + values.reduce((sum, value) => sum + value, 0);
        }
      }
      return sums;
    },
    stop: () => writeLogLinesTo(undefined),
  };
}
