// Prints the size of the built bundle, raw and gzipped; fails over the budget.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const file = process.argv[2] ?? 'dist/index.js';
const budget = 8 * 1024;
let code;
try {
  code = readFileSync(file);
} catch {
  console.error(`${file} is missing: run \`npm run build\` first`);
  process.exit(1);
}
const gzipped = gzipSync(code, { level: 9 }).length;
const kb = (n) => (n / 1024).toFixed(2);
console.log(`@authio/react ${file}: ${code.length} B minified, ${gzipped} B (${kb(gzipped)} KB) gzipped; budget ${kb(budget)} KB gzipped (react and @authio/js not included)`);
if (gzipped > budget) {
  console.error('over budget');
  process.exit(1);
}
