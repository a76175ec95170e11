// Regenerates the README's picture of an HTML report: runs the experiments named (default
// malloc-trim, on both hosts) with the built CLI, writes the page, and photographs its top
// in headless Chromium (scripts/browser.mjs) at a laptop's width.
//   npm run build:ts && node scripts/report-screenshot.mjs [experiment…]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { browserMissing, launchBrowser } from './browser.mjs';

const root = join(import.meta.dirname, '..');
const OUTPUT = join(root, 'examples', 'report', 'report.png');
const experiments = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['malloc-trim'];

const missing = browserMissing();
if (missing !== undefined) {
  process.stderr.write(`report-screenshot: ${missing}\n`);
  process.exit(1);
}
const scratch = mkdtempSync(join(tmpdir(), 'malloc-lab-screenshot-'));
try {
  const html = join(scratch, 'report.html');
  execFileSync(process.execPath, [join(root, 'dist', 'cli.js'), 'run', ...experiments, '--html', html], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const browser = await launchBrowser();
  try {
    const { page, errors } = await browser.open(html, 1280, 1700);
    if (errors.length > 0) throw new Error(`the page logged errors: ${errors.join('; ')}`);
    await page.screenshot({ path: OUTPUT, clip: { x: 0, y: 0, width: 1280, height: 1700 } });
  } finally {
    await browser.close();
  }
  process.stdout.write(`wrote ${OUTPUT}\n`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
