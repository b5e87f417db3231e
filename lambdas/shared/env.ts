/** Reads a required environment variable, failing at cold start rather than mid-release. */
export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(`Environment variable ${name} is not set; the stack must set it on this function.`);
  }
  return value;
}

export function optionalNumberEnv(name: string, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed))
    throw new Error(`Environment variable ${name} must be a number, got "${value}".`);
  return parsed;
}
