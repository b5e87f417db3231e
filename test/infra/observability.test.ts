import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { METRIC_NAMES } from '../../lambdas/shared/metric-names.js';
import { type CfnValue, synthesizeApp, textOf } from './support/synth.js';

// Every function logs JSON through Powertools Logger under one service name, counts in one metrics
// namespace and is traced; one dashboard shows what they count and what goes wrong.

interface DashboardWidget {
  properties: { title: string; metrics?: unknown[][] };
}

describe('observability of the platform', () => {
  let platform: Template;
  let release: Template;

  beforeAll(() => {
    ({ platform, release } = synthesizeApp({ bundle: false }));
  });

  const functions = () => Object.values(platform.findResources('AWS::Lambda::Function'));

  it('configures Powertools Logger and Metrics on every function: service, log level and namespace', () => {
    for (const fn of functions())
      expect(fn.Properties.Environment.Variables).toMatchObject({
        POWERTOOLS_SERVICE_NAME: 'securewatch-orchestrator',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        POWERTOOLS_METRICS_NAMESPACE: 'SecureWatch/Releases',
      });
  });

  it('traces every function and the three state machines with X-Ray', () => {
    platform.allResourcesProperties('AWS::Lambda::Function', { TracingConfig: { Mode: 'Active' } });
    release.resourceCountIs('AWS::StepFunctions::StateMachine', 3);
    release.allResourcesProperties('AWS::StepFunctions::StateMachine', {
      TracingConfiguration: { Enabled: true },
    });
  });

  it('keeps every function’s logs in its own log group for three months', () => {
    const logGroups = platform.findResources('AWS::Logs::LogGroup');
    for (const fn of functions()) {
      const logGroup = logGroups[fn.Properties.LoggingConfig.LogGroup.Ref as string];
      expect(logGroup?.Properties.RetentionInDays).toBe(90);
    }
  });

  describe('the dashboard', () => {
    let widgets: DashboardWidget[];

    beforeAll(() => {
      const dashboards = Object.values(platform.findResources('AWS::CloudWatch::Dashboard'));
      expect(dashboards).toHaveLength(1);
      expect(dashboards[0]?.Properties.DashboardName).toBe('SecureWatch-Releases');
      widgets = JSON.parse(textOf(dashboards[0]?.Properties.DashboardBody as CfnValue)).widgets;
    });

    const graphed = (title: string) => {
      const widget = widgets.find((candidate) => candidate.properties.title === title);
      if (!widget) throw new Error(`No widget titled ${title}`);
      return JSON.stringify(widget.properties.metrics);
    };

    it('graphs every metric the functions count', () => {
      const everything = JSON.stringify(widgets);
      for (const name of METRIC_NAMES) expect(everything).toContain(`"SecureWatch/Releases","${name}"`);
      expect(graphed('Deployments')).toContain('DeploymentsFailed');
      expect(graphed('Emails')).toContain('EmailsSent');
      expect(graphed('Gates')).toContain('GatesFailed');
      expect(graphed('Approval decisions')).toContain('ApprovalsDeferred');
      expect(graphed('Halts and pauses')).toContain('ReleaseHalts');
    });

    it('graphs the depth of each of the four dead-letter queues', () => {
      expect(
        graphed('Dead-letter queues (messages waiting)').match(/ApproximateNumberOfMessagesVisible/g),
      ).toHaveLength(4);
    });

    it('graphs the errors of every function', () => {
      expect(graphed('Function errors').match(/"Errors"/g)).toHaveLength(functions().length);
    });

    it('graphs the failed and timed-out executions of every release state machine', () => {
      const executions = graphed('Release executions');
      expect(executions).toContain('MetricName=\\"ExecutionsFailed\\" securewatch-release-');
      expect(executions).toContain('MetricName=\\"ExecutionsTimedOut\\" securewatch-release-');
    });
  });
});
