/**
 * The frame every malloc-lab HTML report shares: one self-contained page (inline
 * CSS, SVG and a few lines of script; nothing is fetched), readable on a laptop and
 * a phone, printable, with headings, table headers and charts that carry their own
 * text alternative. Output depends only on what is given (no clock, no random ids).
 */
import type { Verdict } from '../../experiments/framework/types.js';
import { VERDICT_MARK } from '../run-summary.js';

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** An id from free text: lower case letters, digits and dashes. */
export function anchor(...parts: string[]): string {
  return parts
    .join('--')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

export interface PageSection {
  id: string;
  /** The section's h2 (text). */
  title: string;
  /** Its body (HTML). */
  html: string;
}

export interface Page {
  /** The document title and h1 (text). */
  title: string;
  /** A line under the h1 (text). */
  lede: string;
  sections: PageSection[];
}

/** A table: a caption, column headers (scope=col), the first cell of each row a row header (scope=row). Cells are HTML. */
export function table(caption: string, header: string[], rows: string[][], className = ''): string {
  const head = header.map((title) => `<th scope="col">${title}</th>`).join('');
  const body = rows
    .map(
      (row) =>
        `<tr>${row.map((cell, index) => (index === 0 ? `<th scope="row">${cell}</th>` : `<td>${cell}</td>`)).join('')}</tr>`,
    )
    .join('\n');
  return (
    `<div class="scroll"><table${className ? ` class="${className}"` : ''}>` +
    `<caption>${escapeHtml(caption)}</caption><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>`
  );
}

/**
 * An SVG chart as a figure: the SVG marked as an image whose name is its title and
 * whose description is the text alternative (the numbers it shows, in words), and
 * the caption under it.
 */
export function figure(
  svg: string,
  options: { title: string; description: string; caption?: string; id: string },
): string {
  const titleId = `${options.id}-title`;
  const descId = `${options.id}-desc`;
  const opened = svg
    .replace(/^<\?xml[^>]*>\s*/, '')
    .replace(
      /^<svg /,
      `<svg class="chart" role="img" aria-labelledby="${titleId} ${descId}" preserveAspectRatio="xMinYMin meet" `,
    )
    .replace(
      /(<svg[^>]*>)/,
      `$1<title id="${titleId}">${escapeHtml(options.title)}</title><desc id="${descId}">${escapeHtml(options.description)}</desc>`,
    )
    // The viewBox scales it; the width and height attributes would pin it to its drawn size.
    .replace(/^(<svg[^>]*?) width="[\d.]+" height="[\d.]+"/, '$1');
  return `<figure>${opened}${options.caption ? `<figcaption>${escapeHtml(options.caption)}</figcaption>` : ''}</figure>`;
}

/** A verdict as a mark with its word (the word is read aloud and printed; the colour is never the only cue). */
export function verdictBadge(verdict: Verdict, extra = ''): string {
  return `<span class="verdict ${verdict}"><span aria-hidden="true">${VERDICT_MARK[verdict]}</span> ${verdict}${extra}</span>`;
}

const CSS = `
:root { --ink: #111827; --muted: #4b5563; --line: #d1d5db; --wash: #f3f4f6; --link: #1d4ed8;
  --confirmed: #166534; --confirmed-bg: #dcfce7; --refuted: #991b1b; --refuted-bg: #fee2e2;
  --inconclusive: #78350f; --inconclusive-bg: #fef3c7; color-scheme: light; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Helvetica, Arial, sans-serif;
  color: var(--ink); background: #fff; }
header.page, main { max-width: 72rem; margin: 0 auto; padding: 0 1rem; }
header.page { padding-top: 1.5rem; }
h1 { font-size: 1.75rem; line-height: 1.2; margin: 0 0 .25rem; }
h2 { font-size: 1.35rem; margin: 2.5rem 0 .5rem; padding-top: .75rem; border-top: 2px solid var(--line); }
h3 { font-size: 1.1rem; margin: 1.5rem 0 .25rem; }
h4 { font-size: 1rem; margin: 1rem 0 .25rem; }
p, li, dd { overflow-wrap: anywhere; }
.lede { color: var(--muted); margin: 0 0 1rem; }
a { color: var(--link); }
a:focus-visible, button:focus-visible, summary:focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }
nav.toc ol { columns: 16rem; padding-left: 1.25rem; margin: .5rem 0; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: .5rem 0; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .9rem; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .9rem; }
caption { text-align: left; font-weight: 600; padding: .25rem 0; caption-side: top; }
th, td { border: 1px solid var(--line); padding: .25rem .5rem; vertical-align: top; text-align: left; }
thead th { background: var(--wash); position: sticky; top: 0; }
td.num, th.num, .num, table.raw td { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.verdict { display: inline-block; border-radius: .25rem; padding: 0 .35rem; font-weight: 600; white-space: nowrap; }
.verdict.confirmed { color: var(--confirmed); background: var(--confirmed-bg); }
.verdict.refuted { color: var(--refuted); background: var(--refuted-bg); }
.verdict.inconclusive { color: var(--inconclusive); background: var(--inconclusive-bg); }
table.matrix td { text-align: center; white-space: nowrap; }
table.matrix td a { text-decoration: none; }
table.matrix th[scope=row] { font-weight: 400; }
table.matrix .experiment { font-weight: 600; }
.only-open table.matrix tr.all-confirmed { display: none; }
.counts { margin: .25rem 0 .75rem; }
.counts .verdict { margin-right: .5rem; }
button.filter { font: inherit; padding: .25rem .75rem; border: 1px solid var(--line); border-radius: .25rem;
  background: #fff; color: var(--ink); cursor: pointer; }
button.filter[aria-pressed=true] { background: var(--ink); color: #fff; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(19rem, 1fr)); gap: 1rem; }
figure { margin: 0; min-width: 0; }
figcaption { font-size: .85rem; color: var(--muted); }
svg.chart { display: block; width: 100%; height: auto; max-width: 100%; }
.legend { display: flex; flex-wrap: wrap; gap: .25rem 1.25rem; font-size: .9rem; margin: .25rem 0; }
.legend svg { vertical-align: middle; }
ol.claims { padding-left: 1.25rem; }
ol.claims > li { margin-bottom: 1rem; }
ol.claims ul { list-style: none; padding-left: 0; margin: .25rem 0 0; }
ol.claims ul li { margin: .25rem 0; }
.world { font-weight: 600; display: inline-block; min-width: 4.5rem; }
.evidence { color: #1f2937; }
.note { color: var(--muted); font-size: .9rem; }
.stopped { color: var(--refuted); }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: var(--wash); padding: .5rem; font-size: .85rem; }
details { margin: .5rem 0 1rem; }
summary { cursor: pointer; font-weight: 600; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
@media (max-width: 40rem) {
  body { font-size: 15px; }
  h1 { font-size: 1.4rem; }
  dl.facts { grid-template-columns: 1fr; }
  dl.facts dt { margin-top: .25rem; }
  th, td { padding: .2rem .3rem; }
}
@media print {
  body { font-size: 10.5pt; }
  header.page, main { max-width: none; padding: 0; }
  nav.toc, button.filter { display: none; }
  h2 { break-before: auto; break-after: avoid; }
  h3, h4 { break-after: avoid; }
  figure, tr, ol.claims > li { break-inside: avoid; }
  .scroll { overflow: visible; }
  thead th { position: static; }
  a { color: inherit; text-decoration: none; }
  .charts { grid-template-columns: repeat(3, 1fr); }
}
`;

/**
 * Opens every details before printing (their contents would otherwise be left out),
 * and lets the verdict matrix show only the claims not confirmed everywhere.
 */
const SCRIPT = `
(function () {
  window.addEventListener('beforeprint', function () {
    document.querySelectorAll('details').forEach(function (element) { element.open = true; });
  });
  document.querySelectorAll('button.filter').forEach(function (button) {
    button.addEventListener('click', function () {
      var on = button.getAttribute('aria-pressed') !== 'true';
      button.setAttribute('aria-pressed', String(on));
      document.body.classList.toggle('only-open', on);
    });
  });
})();
`;

export function renderPage(page: Page): string {
  const toc = page.sections.map((section) => `<li><a href="#${section.id}">${escapeHtml(section.title)}</a></li>`);
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    // Nothing from elsewhere: no scripts, styles, fonts or images but the page's own.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">`,
    `<title>${escapeHtml(page.title)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    `<header class="page"><h1>${escapeHtml(page.title)}</h1><p class="lede">${escapeHtml(page.lede)}</p>`,
    `<nav class="toc" aria-label="Contents"><ol>${toc.join('')}</ol></nav></header>`,
    '<main>',
    ...page.sections.map(
      (section) =>
        `<section id="${section.id}" aria-labelledby="${section.id}-h"><h2 id="${section.id}-h">${escapeHtml(section.title)}</h2>\n${section.html}\n</section>`,
    ),
    '</main>',
    `<script>${SCRIPT}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** Facts as a definition list (values are text). */
export function facts(entries: [string, string][]): string {
  return `<dl class="facts">${entries.map(([name, value]) => `<dt>${escapeHtml(name)}</dt><dd>${escapeHtml(value)}</dd>`).join('')}</dl>`;
}
