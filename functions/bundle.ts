import { build, type BuildOptions } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/*
 * Bundles a Lambda entry point into one ESM file for Node 22 (the Lambda runtime), the AWS
 * SDK included so the function does not depend on the runtime's copy. The CDK's
 * NodejsFunction uses the same settings (BUNDLE_OPTIONS); `npm run build:lambda` and the
 * tests call bundleFunction.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** CommonJS dependencies (mailparser, pino) call require(): give the ESM bundle one. */
const REQUIRE_SHIM =
  "import { createRequire as __mailroomCreateRequire } from 'node:module'; const require = __mailroomCreateRequire(import.meta.url);";

export const BUNDLE_OPTIONS: BuildOptions = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  banner: { js: REQUIRE_SHIM },
  // pino-pretty is only ever loaded on a terminal; never in Lambda.
  external: ['pino-pretty'],
  logLevel: 'error',
};

/** Writes `<outdir>/index.mjs` for functions/<name>.ts; returns its path and size. */
export async function bundleFunction(name: string, outdir: string): Promise<{ file: string; bytes: number }> {
  const file = join(outdir, 'index.mjs');
  const result = await build({
    ...BUNDLE_OPTIONS,
    entryPoints: [join(ROOT, 'functions', `${name}.ts`)],
    outfile: file,
    metafile: true,
  });
  const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
  return { file, bytes };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = process.argv[2] ?? join(ROOT, 'dist', 'ingest');
  const { file, bytes } = await bundleFunction('ingest', out);
  process.stdout.write(`${file} ${(bytes / 1024).toFixed(0)} KiB\n`);
}
