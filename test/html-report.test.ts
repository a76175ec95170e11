/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The HTML reports in a real browser (headless Chromium, scripts/browser.mjs): real runs,
// a real explain and a real compare, written by the built CLI (run/explain/compare
// --html, and report <json> --html giving the same page), then opened offline at a
// laptop's and a phone's width. No console errors, no request beyond the file, every
// chart drawn with data, a verdict cell per claim and world, no sideways scrolling on
// the phone, headings, table headers, chart text and badge contrast, a printable page;
// screenshots at 1280 and 390 px go to test-artifacts/html-report/.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ExperimentRun } from '../lib/experiments/framework/runner.js';
import { browserMissing, launchBrowser } from '../scripts/browser.mjs';
import { cliHarness, root } from './fixtures/cli-harness.js';
import { buildWorkload } from './fixtures/compare-harness.js';

const CI = process.env['CI'] === 'true';
const missing = browserMissing();
if (missing !== undefined && CI) throw new Error(`${missing}: CI=true requires it (.ci/run installs chromium)`);
if (missing !== undefined) process.stdout.write(`skipped: the HTML report tests (${missing})\n`);

const ARTIFACTS = join(root, 'test-artifacts', 'html-report');
const scratch = mkdtempSync(join(tmpdir(), 'malloc-lab-html-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const { cli, startTarget } = cliHarness([
  'dist/cli.js',
  'dist/commands/report.js',
  'dist/report/html/runs.js',
  'dist/report/html/explain.js',
  'dist/report/html/compare.js',
]);

type Browser = Awaited<ReturnType<typeof launchBrowser>>;
let browser: Browser;
let runs: ExperimentRun[];
const pages: Record<'runs' | 'explain' | 'compare', string> = { runs: '', explain: '', compare: '' };

/** Writes what a --json command printed and checks that report turns it into the very page the command wrote. */
async function sameFromReport(name: string, json: string, html: string): Promise<void> {
  const file = join(scratch, `${name}.json`);
  writeFileSync(file, json);
  const again = join(scratch, `${name}-again.html`);
  const report = await cli(['report', file, '--html', again]);
  expect(report.code, report.stderr).toBe(0);
  expect(readFileSync(again, 'utf8')).toBe(readFileSync(html, 'utf8'));
}

beforeAll(async () => {
  if (missing !== undefined) return;
  mkdirSync(ARTIFACTS, { recursive: true });

  pages.runs = join(scratch, 'runs.html');
  const run = await cli(['run', 'free-not-returned', 'malloc-trim', '--json', '--html', pages.runs], {}, 120_000);
  expect(run.code, run.stderr).toBe(0);
  runs = JSON.parse(run.stdout);
  await sameFromReport('runs', run.stdout, pages.runs);

  const target = await startTarget();
  pages.explain = join(scratch, 'explain.html');
  const explained = await cli(['explain', String(target.pid), '--json', '--html', pages.explain], {}, 30_000);
  expect(explained.code, explained.stderr).toBe(0);
  await sameFromReport('explain', explained.stdout, pages.explain);

  const workload = buildWorkload(scratch);
  pages.compare = join(scratch, 'compare.html');
  const compared = await cli(
    [
      'compare',
      '--config',
      'glibc,glibc-arena-2',
      '--duration',
      '0.8',
      '--json',
      '--html',
      pages.compare,
      '--',
      workload,
      'fragments',
      '1024',
      '0',
    ],
    {},
    30_000,
  );
  expect(compared.code, compared.stderr).toBe(0);
  await sameFromReport('compare', compared.stdout, pages.compare);

  browser = await launchBrowser();
}, 240_000);

afterAll(async () => {
  await browser?.close();
});

/** What every chart on the page drew: its name, its text alternative, and its data marks with a non-empty box. */
async function chartsOf(page: import('playwright-core').Page) {
  return page.$$eval('svg.chart', (svgs) =>
    svgs.map((svg) => {
      const marks = [...svg.querySelectorAll('polyline, circle, rect, path')].filter(
        (mark) => mark.querySelector(':scope > title') !== null,
      );
      const drawn = marks.filter((mark) => {
        const box = (mark as SVGGraphicsElement).getBBox();
        return box.width > 0 || box.height > 0;
      });
      const ids = (svg.getAttribute('aria-labelledby') ?? '').split(' ');
      return {
        role: svg.getAttribute('role'),
        title: document.getElementById(ids[0] ?? '')?.textContent ?? '',
        description: document.getElementById(ids[1] ?? '')?.textContent ?? '',
        marks: marks.length,
        drawn: drawn.length,
        width: svg.getBoundingClientRect().width,
        noSamples: svg.textContent?.includes('no samples') ?? false,
      };
    }),
  );
}

/** WCAG contrast ratio of each verdict badge's text against its background. */
async function badgeContrast(page: import('playwright-core').Page): Promise<number[]> {
  return page.$$eval('.verdict', (badges) => {
    const luminance = (colour: string) => {
      const [r, g, b] = (colour.match(/[\d.]+/g) ?? []).slice(0, 3).map((value) => {
        const c = Number(value) / 255;
        return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
    };
    return badges.map((badge) => {
      const style = getComputedStyle(badge);
      const [a, b] = [luminance(style.color), luminance(style.backgroundColor)].sort((x, y) => y - x);
      return (a! + 0.05) / (b! + 0.05);
    });
  });
}

describe.skipIf(missing !== undefined)('HTML reports in headless Chromium', () => {
  for (const name of ['runs', 'explain', 'compare'] as const) {
    for (const width of [1280, 390]) {
      it(`${name} at ${width} px: no console errors, nothing fetched, every chart drawn, fits the width`, async () => {
        const { page, errors, requests } = await browser.open(pages[name], width);
        try {
          expect(errors).toEqual([]);
          expect(requests).toEqual([]);
          const charts = await chartsOf(page);
          expect(charts.length).toBeGreaterThan(0);
          for (const chart of charts) {
            expect(chart.role).toBe('img');
            expect(chart.title.length, 'a chart without a title').toBeGreaterThan(0);
            expect(chart.description.length, `${chart.title}: no text alternative`).toBeGreaterThan(20);
            expect(chart.noSamples, `${chart.title}: no samples`).toBe(false);
            expect(chart.drawn, `${chart.title}: no data drawn`).toBeGreaterThan(0);
            expect(chart.width).toBeGreaterThan(0);
            expect(chart.width).toBeLessThanOrEqual(width);
          }
          // Wide tables scroll in their own box; the page itself never scrolls sideways.
          expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
          await page.screenshot({ path: join(ARTIFACTS, `${name}-${width}.png`), fullPage: name !== 'runs' });
        } finally {
          await page.close();
        }
      });
    }
  }

  it('runs: the verdict matrix has a cell per claim and world, each linked to its evidence', async () => {
    const { page } = await browser.open(pages.runs, 1280);
    try {
      const cells = await page.$$eval('table.matrix td[data-verdict]', (tds) =>
        tds.map((td) => ({
          world: td.getAttribute('data-world'),
          claim: td.getAttribute('data-claim'),
          verdict: td.getAttribute('data-verdict'),
          target: td.querySelector('a')?.getAttribute('href') ?? '',
        })),
      );
      const expected = runs.flatMap((run) =>
        run.claims.map((claim) => ({
          world: run.world,
          claim: `${run.experiment}/${claim.id}`,
          verdict: claim.verdict,
        })),
      );
      expect(cells.map(({ target: _target, ...cell }) => cell).sort(byKey)).toEqual(expected.sort(byKey));
      for (const cell of cells) expect(await page.locator(cell.target).count(), cell.target).toBe(1);
      // Three charts (RssAnon, VmSize, the break) per variant of each experiment.
      const variants = new Set(
        runs.flatMap((run) => run.variants.map((variant) => `${run.experiment}/${variant.name}`)),
      );
      expect(await page.locator('svg.chart').count()).toBe(3 * variants.size);
      // Every experiment has its claims with each world's evidence, and its raw numbers.
      for (const run of runs) {
        for (const claim of run.claims) {
          expect(await page.getByText(claim.evidence, { exact: true }).count()).toBeGreaterThan(0);
        }
      }
      expect(await page.locator('details table.raw').count()).toBe(variants.size);
      // The filter leaves only the claims not confirmed everywhere.
      await page.locator('button.filter').click();
      const shown = await page.$$eval(
        'table.matrix tbody tr:not(.group)',
        (rows) => rows.filter((row) => getComputedStyle(row).display !== 'none').length,
      );
      const open = new Set(
        runs.flatMap((run) =>
          run.claims.filter((claim) => claim.verdict !== 'confirmed').map((claim) => `${run.experiment}/${claim.id}`),
        ),
      );
      expect(shown).toBe(open.size);
    } finally {
      await page.close();
    }
  });

  it('accessible: one h1, headed tables with captions, readable verdict badges', async () => {
    for (const name of ['runs', 'explain', 'compare'] as const) {
      const { page } = await browser.open(pages[name], 1280);
      try {
        expect(await page.locator('h1').count()).toBe(1);
        expect(await page.locator('h2').count()).toBeGreaterThan(1);
        const tables = await page.$$eval('table', (all) =>
          all.map((table) => ({
            caption: table.querySelector('caption')?.textContent ?? '',
            headers: table.querySelectorAll('thead th[scope=col]').length,
          })),
        );
        expect(tables.length).toBeGreaterThan(0);
        for (const table of tables) {
          expect(table.caption.length).toBeGreaterThan(0);
          expect(table.headers).toBeGreaterThan(0);
        }
        for (const ratio of await badgeContrast(page)) expect(ratio).toBeGreaterThanOrEqual(4.5);
        expect(await page.getAttribute('html', 'lang')).toBe('en');
      } finally {
        await page.close();
      }
    }
  });

  it('prints: the contents and buttons drop out, every raw-numbers table opens', async () => {
    const { page } = await browser.open(pages.runs, 1280);
    try {
      const pdf = await page.pdf({ format: 'A4' });
      expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
      const details = await page.$$eval('details', (all) => all.map((element) => element.open));
      expect(details.length).toBeGreaterThan(0);
      expect(details.every(Boolean)).toBe(true);
      await page.emulateMedia({ media: 'print' });
      expect(await page.locator('nav.toc').isVisible()).toBe(false);
      expect(await page.locator('button.filter').isVisible()).toBe(false);
    } finally {
      await page.close();
    }
  });
});

function byKey(a: { world: string | null; claim: string | null }, b: { world: string | null; claim: string | null }) {
  return `${a.claim} ${a.world}`.localeCompare(`${b.claim} ${b.world}`);
}
