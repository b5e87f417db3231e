// Which health reports a gate may count. A report speaks for one customer's environment running one
// version, so it counts only for a release that exists, a customer the release plans, and a time after the
// orchestrator asked the platform to deploy that customer: a report from before says nothing about this
// version. A report dated ahead of the orchestrator's clock by more than the skew allowed is refused too.

/** How far ahead of the orchestrator's clock a report may be dated (the sender's clock may run ahead). */
export const HEALTH_REPORT_CLOCK_SKEW_MINUTES = 5;

export const HEALTH_REPORT_REFUSALS = [
  'unknown-release',
  'unknown-customer',
  'before-deployment',
  'in-the-future',
] as const;

export type HealthReportRefusal = (typeof HEALTH_REPORT_REFUSALS)[number];

/**
 * Why a report of a planned customer may not count, or undefined when it counts. `deploymentRequestedAt`
 * is when the customer's deployment of this version was requested (undefined while it is not).
 */
export function healthReportRefusal(
  reportedAt: string,
  deploymentRequestedAt: string | undefined,
  now: string,
): HealthReportRefusal | undefined {
  const reported = Date.parse(reportedAt);
  if (deploymentRequestedAt === undefined || reported < Date.parse(deploymentRequestedAt))
    return 'before-deployment';
  if (isAheadOfClock(reportedAt, now)) return 'in-the-future';
  return undefined;
}

/** A report dated further ahead of the orchestrator's clock than the skew allowed. */
export function isAheadOfClock(reportedAt: string, now: string): boolean {
  return Date.parse(reportedAt) > Date.parse(now) + HEALTH_REPORT_CLOCK_SKEW_MINUTES * 60_000;
}
