import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

export interface NagAcknowledgment {
  /** The cdk-nag rule, e.g. `AwsSolutions-IAM5`. */
  readonly id: string;
  /**
   * The one finding of a rule that reports several per resource, e.g. `Resource::*`.
   * @default the whole rule
   */
  readonly appliesTo?: string;
  /** Why the finding stands: one honest sentence. */
  readonly reason: string;
}

/**
 * Acknowledges cdk-nag findings on a construct and everything under it. cdk-nag 3 reads CDK's own
 * acknowledgments, which name a single finding as `RuleId[finding]`.
 */
export function acknowledgeNagFindings(scope: IConstruct, ...findings: NagAcknowledgment[]): void {
  Validations.of(scope).acknowledge(
    ...findings.map(({ id, appliesTo, reason }) => ({ id: appliesTo ? `${id}[${appliesTo}]` : id, reason })),
  );
}
