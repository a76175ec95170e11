// The package.json the tarball carries has no prepare script: npm counts a prepare in an
// installed tarball as an install script (--strict-allow-scripts refuses it), while a
// checkout needs it to build from source. prepack strips it, as its last step, keeping
// the file as it was in .package.json.orig; postpack puts that back.
//   node scripts/pack-manifest.mjs strip|restore
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const manifest = join(root, 'package.json');
const kept = join(root, '.package.json.orig');

const action = process.argv[2];
if (action === 'strip') {
  if (existsSync(kept)) throw new Error(`${kept} exists: an earlier pack did not finish; restore it first`);
  const text = readFileSync(manifest, 'utf8');
  const packageJson = JSON.parse(text);
  delete packageJson.scripts.prepare;
  writeFileSync(kept, text);
  writeFileSync(manifest, `${JSON.stringify(packageJson, null, 2)}\n`);
} else if (action === 'restore') {
  if (existsSync(kept)) renameSync(kept, manifest);
} else {
  throw new Error('usage: node scripts/pack-manifest.mjs strip|restore');
}
