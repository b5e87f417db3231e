import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConnectTarget } from './target.js';

/** Where the CLI writes and what it treats as "now" and "here": injected so tests run it in-process. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  now?: () => Date;
  cwd?: string;
  /** The name usage messages give the program: the script that ran it (default minor-release-manager.sh). */
  programName?: string;
  /** How commands reach AWS or the local stack; tests inject a target over their own dynalite table. */
  connect?: ConnectTarget;
  /** Stops a command that keeps running (check-status --watch); without it, Ctrl-C does. */
  signal?: AbortSignal;
  /** How a command waits between refreshes; returns early when `signal` aborts (tests return at once). */
  sleep?: (milliseconds: number, signal: AbortSignal) => Promise<void>;
}

export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const DEFAULT_CONFIG_DIR = resolve(PROJECT_ROOT, 'config');
export const DEFAULT_FLEET_FILE = resolve(PROJECT_ROOT, 'config', 'customers.json');

/** User-given paths are relative to the caller's directory; defaults are inside the project. */
export function resolveUserPath(io: CliIo, path: string): string {
  return isAbsolute(path) ? path : resolve(io.cwd ?? process.cwd(), path);
}
