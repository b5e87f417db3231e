import { type BundlingOptions, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { BuildOptions } from 'esbuild';

/** How every function is bundled; the bundle-size bench and tests bundle with the same options. */
export const FUNCTION_BUNDLING = {
  format: OutputFormat.ESM,
  target: 'node24',
  minify: true,
  // Class and function names survive minification, so errors and stack traces name their real class.
  keepNames: true,
  sourceMap: true,
  // The Lambda runtime provides the AWS SDK.
  externalModules: ['@aws-sdk/*'],
  // ESM bundles need a require shim for the few CommonJS dependencies of the AWS SDK.
  banner: "import{createRequire}from'module';const require=createRequire(import.meta.url);",
} as const satisfies BundlingOptions;

/** The file NodejsFunction writes an ESM bundle to (its name is in the bundle's source map comment). */
export const FUNCTION_BUNDLE_FILE = 'index.mjs';

/** The esbuild options NodejsFunction derives from FUNCTION_BUNDLING (its `esbuild --bundle` arguments). */
export function functionBuildOptions(): BuildOptions {
  return {
    bundle: true,
    platform: 'node',
    format: FUNCTION_BUNDLING.format === OutputFormat.ESM ? 'esm' : 'cjs',
    target: FUNCTION_BUNDLING.target,
    minify: FUNCTION_BUNDLING.minify,
    keepNames: FUNCTION_BUNDLING.keepNames,
    sourcemap: FUNCTION_BUNDLING.sourceMap,
    external: [...FUNCTION_BUNDLING.externalModules],
    banner: { js: FUNCTION_BUNDLING.banner },
  };
}
