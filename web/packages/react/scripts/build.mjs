// Builds dist/: one ES module bundle (esbuild; react, react-dom and @authio/js stay
// external) and the type declarations (tsc). The declarations import @authio/js's own,
// so that package is built first when its dist/ is missing (a fresh clone).
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = join(dirname(fileURLToPath(import.meta.url)), '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, stdio: 'inherit' });

const sdk = join(here, '..', 'js');
if (!existsSync(join(sdk, 'dist', 'index.d.ts'))) {
  console.log('@authio/js has no dist/ yet: building it first');
  run(npm, ['run', 'build'], sdk);
}

rmSync(join(here, 'dist'), { recursive: true, force: true });
await build({
  entryPoints: [join(here, 'src', 'index.ts')],
  outfile: join(here, 'dist', 'index.js'),
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2020',
  jsx: 'automatic',
  // Every package stays an import (the tsconfig for the build maps no paths to sources).
  tsconfig: join(here, 'tsconfig.build.json'),
  packages: 'external',
  minify: true,
  sourcemap: true,
  // Components with state: React Server Components frameworks must render them on the client.
  banner: { js: '"use client";' },
  logLevel: 'warning',
});
run(process.execPath, [join(here, '..', '..', 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], here);
