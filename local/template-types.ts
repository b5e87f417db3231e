/** The parts of a synthesized CloudFormation template that the local rehearsal reads. */
export interface CloudFormationResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
  DependsOn?: string | string[];
}

export interface CloudFormationOutput {
  Value: unknown;
  Description?: string;
  Export?: { Name: unknown };
}

export interface CloudFormationTemplate {
  Resources: Record<string, CloudFormationResource>;
  Outputs?: Record<string, CloudFormationOutput>;
  Parameters?: Record<string, unknown>;
}

/** True for `{ "Ref": ... }`, `{ "Fn::GetAtt": ... }` and the other single-key intrinsic functions. */
export function isIntrinsic(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return (
    keys.length === 1 &&
    (keys[0] === 'Ref' || keys[0] === 'Condition' || keys[0]?.startsWith('Fn::') === true)
  );
}
