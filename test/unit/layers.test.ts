import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// Handlers are parse → call the application → map errors: what a task does to the store is the
// application layer's, shared with the CLI and the local runtime.

const HANDLERS = path.resolve(import.meta.dirname, '../../lambdas/handlers');

/** Every module a source file imports, statically or dynamically, as written. */
function importsOf(source: string): string[] {
  return [...source.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g)].map(
    ([, specifier]) => specifier ?? '',
  );
}

describe('the layers', () => {
  it('keep every handler off the store: no file in lambdas/handlers imports from lambdas/store', () => {
    const files = readdirSync(HANDLERS, { recursive: true, encoding: 'utf8' }).filter((file) =>
      file.endsWith('.ts'),
    );
    const storeImports = files.flatMap((file) =>
      importsOf(readFileSync(path.join(HANDLERS, file), 'utf8'))
        .filter((specifier) =>
          path
            .resolve(HANDLERS, path.dirname(file), specifier)
            .includes(`${path.sep}lambdas${path.sep}store`),
        )
        .map((specifier) => `${file}: ${specifier}`),
    );

    expect(files.length).toBeGreaterThan(20);
    expect(storeImports).toEqual([]);
  });
});
