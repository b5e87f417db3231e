import { readdirSync } from 'node:fs';
import { basename, join, parse } from 'node:path';
import { pathToFileURL } from 'node:url';
import { analyzeMetafile, build, type Metafile } from 'esbuild';
import { FUNCTION_BUNDLE_FILE, functionBuildOptions } from '../lib/constructs/function-bundling.js';
import { PROJECT_ROOT } from '../lib/constructs/orchestrator-function.js';

// Every handler bundled as its function is deployed (lib/constructs/orchestrator-function.ts): the same
// esbuild options, one bundle per handler. Sizes are of the minified code, without its source map.

const HANDLERS = join('lambdas', 'handlers');
const BUNDLE = parse(FUNCTION_BUNDLE_FILE);

export interface HandlerBundle {
  /** The handler's file name under lambdas/handlers, without extension, e.g. `plan-release`. */
  handler: string;
  code: string;
  bytes: number;
  /** What went into the bundle, for esbuild's analyzeMetafile. */
  metafile: Metafile;
}

export function handlerNames(): string[] {
  return readdirSync(join(PROJECT_ROOT, HANDLERS))
    .filter((file) => file.endsWith('.ts'))
    .map((file) => basename(file, '.ts'))
    .sort();
}

export async function handlerBundles(): Promise<HandlerBundle[]> {
  // One build of every entry point: each output is bundled on its own, as NodejsFunction bundles it
  // (`<handler>/index.mjs`, so even the source map comment is the same), with esbuild parsing shared code once.
  const result = await build({
    ...functionBuildOptions(),
    entryPoints: Object.fromEntries(
      handlerNames().map((handler) => [join(handler, BUNDLE.name), join(HANDLERS, `${handler}.ts`)]),
    ),
    outExtension: { '.js': BUNDLE.ext },
    absWorkingDir: PROJECT_ROOT,
    outdir: 'bundle',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  return handlerNames().map((handler) => {
    const path = join('bundle', handler, FUNCTION_BUNDLE_FILE);
    const output = result.outputFiles.find((file) => file.path === join(PROJECT_ROOT, path));
    const meta = result.metafile.outputs[path];
    if (!output || !meta) throw new Error(`esbuild wrote no ${path}`);
    return {
      handler,
      code: output.text,
      bytes: output.contents.byteLength,
      metafile: { inputs: result.metafile.inputs, outputs: { [path]: meta } },
    };
  });
}

export async function bundleSizes(): Promise<{ handler: string; bytes: number }[]> {
  return (await handlerBundles()).map(({ handler, bytes }) => ({ handler, bytes }));
}

// `npx tsx bench/bundle-sizes.ts [handler]`: every bundle's size, and what makes up the named handler's.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const bundles = await handlerBundles();
  const sizes = bundles.map(({ handler, bytes }) => ({ handler, bytes }));
  console.table(sizes.map(({ handler, bytes }) => ({ handler, bytes, KB: (bytes / 1000).toFixed(1) })));
  console.log(`largest: ${Math.max(...sizes.map(({ bytes }) => bytes))} bytes`);
  const named = bundles.find(({ handler }) => handler === process.argv[2]);
  if (named) console.log(await analyzeMetafile(named.metafile));
}
