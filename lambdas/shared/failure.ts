/** The error a Catch hands to the next state: `{ Error, Cause }`. */
export interface CaughtError {
  Error?: string;
  Cause?: string;
}

/**
 * The message of a caught error. Lambda errors arrive with a JSON cause (message and stack); only the
 * message is kept, never the stack.
 */
export function causeOf(failure: CaughtError | undefined): string | undefined {
  if (!failure) return undefined;
  const cause = failure.Cause ?? '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string };
    return (parsed.errorMessage ?? cause) || failure.Error;
  } catch {
    return cause || failure.Error;
  }
}

/** A person-readable line for a caught error: its name and message. */
export function describeFailure(failure: CaughtError | undefined): string | undefined {
  const cause = causeOf(failure);
  if (!failure || cause === undefined) return undefined;
  return (cause === failure.Error ? cause : `${failure.Error ?? 'Error'}: ${cause}`).slice(0, 1000);
}
