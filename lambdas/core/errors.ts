// Named errors for bad input. Callers (CLI, handlers, state machine Catch) tell them apart by class or name;
// none of them is worth retrying, and their message is written for the person who has to fix the input.

/** An error whose message is meant for a person: print it, without a stack trace. */
export class UserFacingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export interface ConfigIssue {
  file: string;
  /** JSON path inside the file, e.g. `customers[3].maintenanceWindow.timeZone`; `(root)` for the whole file. */
  path: string;
  problem: string;
  fix: string;
}

export function formatConfigIssue(issue: ConfigIssue): string {
  return `${issue.file}: ${issue.path}: ${issue.problem}. Fix: ${issue.fix}`;
}

export class ConfigError extends UserFacingError {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    const lines = issues.map(formatConfigIssue);
    const summary = issues.length === 1 ? 'invalid configuration' : `${issues.length} configuration problems`;
    super(`${summary}:\n${lines.join('\n')}`);
    this.issues = issues;
  }
}

export class VersionError extends UserFacingError {}

export class UsageError extends UserFacingError {}
