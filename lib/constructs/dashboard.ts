import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, type MetricName, SERVICE_NAME } from '../../lambdas/shared/metric-names.js';
import type { OrchestratorFunction } from './orchestrator-function.js';

export const DASHBOARD_NAME = 'SecureWatch-Releases';

export interface OrchestratorDashboardProps {
  readonly functions: OrchestratorFunction[];
  /** Each dead-letter queue by what waits in it. */
  readonly deadLetterQueues: Record<string, sqs.IQueue>;
  /** Every release state machine's name starts with it. */
  readonly releaseStateMachinePrefix: string;
}

/**
 * One CloudWatch dashboard for the orchestrator: what the functions count (deployments, emails, gates,
 * approval decisions, halts), what waits in the dead-letter queues, the functions' errors and the release
 * executions that failed or timed out, of every release (the state machines are found by their prefix).
 */
export class OrchestratorDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: OrchestratorDashboardProps) {
    super(scope, id);
    const period = Duration.hours(1);
    const counted = (label: string, name: MetricName) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: name,
        dimensionsMap: { service: SERVICE_NAME },
        statistic: cloudwatch.Stats.SUM,
        period,
        label,
      });
    const graph = (title: string, left: cloudwatch.IMetric[]) =>
      new cloudwatch.GraphWidget({ title, left, width: 8, height: 6, period });
    const executions = (metricName: string, label: string) =>
      new cloudwatch.MathExpression({
        expression: `SUM(SEARCH('{AWS/States,StateMachineArn} MetricName="${metricName}" ${props.releaseStateMachinePrefix}', 'Sum', 3600))`,
        usingMetrics: {},
        label,
        period,
      });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: DASHBOARD_NAME,
      defaultInterval: Duration.days(14),
    });
    this.dashboard.addWidgets(
      graph('Deployments', [
        counted('requested', 'DeploymentsRequested'),
        counted('succeeded', 'DeploymentsSucceeded'),
        counted('failed', 'DeploymentsFailed'),
        counted('reports dropped', 'DeploymentReportsDropped'),
      ]),
      graph('Emails', [
        counted('sent', 'EmailsSent'),
        counted('failed', 'EmailsFailed'),
        counted('throttled', 'EmailsThrottled'),
      ]),
      graph('Gates', [counted('passed', 'GatesPassed'), counted('failed', 'GatesFailed')]),
    );
    this.dashboard.addWidgets(
      graph('Approval decisions', [
        counted('approved', 'ApprovalsApproved'),
        counted('rejected', 'ApprovalsRejected'),
        counted('deferred (no answer)', 'ApprovalsDeferred'),
      ]),
      graph('Halts and pauses', [
        counted('release halted', 'ReleaseHalts'),
        counted('release paused (failed gate)', 'ReleasePauses'),
        counted('customer rollout halted', 'RolloutHalts'),
        counted('health reports refused', 'HealthReportsRefused'),
      ]),
      graph('Release executions', [
        executions('ExecutionsFailed', 'failed'),
        executions('ExecutionsTimedOut', 'timed out'),
      ]),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Dead-letter queues (messages waiting)',
        left: Object.entries(props.deadLetterQueues).map(([label, queue]) =>
          queue.metricApproximateNumberOfMessagesVisible({
            label,
            statistic: cloudwatch.Stats.MAXIMUM,
            period,
          }),
        ),
        width: 12,
        height: 6,
      }),
      new cloudwatch.GraphWidget({
        title: 'Function errors',
        left: props.functions.map((fn) =>
          fn.metricErrors({ label: fn.operation, statistic: cloudwatch.Stats.SUM, period }),
        ),
        width: 12,
        height: 6,
      }),
    );
  }
}
