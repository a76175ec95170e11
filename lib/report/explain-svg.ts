/**
 * `malloc-lab explain --svg FILE`: RSS as a stacked bar of the classes, the verdict's
 * split (with the agent) as a second bar, and each glibc arena's resident bytes with
 * the part the agent counts free. Depends only on the report, so output is stable.
 */
import { formatBytes } from '../infra/units.js';
import * as check from '../infra/validate.js';
import type { ExplainReport } from '../process/explain/types.js';
import { escapeXml, n, svgDocument, text } from './svg-toolkit.js';

const WIDTH = 900;
const MARGIN = 24;
const BAR = 28;

const COLOURS: Record<string, string> = {
  'glibc-main-heap': '#2563eb',
  'glibc-arenas': '#7c3aed',
  'thread-stacks': '#0891b2',
  'anonymous-mmap': '#ea580c',
  'v8-heap': '#16a34a',
  'jit-code': '#65a30d',
  'code-and-files': '#6b7280',
  shared: '#a855f7',
  'other-anonymous': '#d1d5db',
  'js-heap': '#16a34a',
  'glibc-in-use': '#2563eb',
  'glibc-free-resident': '#dc2626',
  'code-and-files-part': '#6b7280',
  other: '#d1d5db',
};

function label(x: number, y: number, content: string, size = 12, weight: 'normal' | 'bold' = 'normal'): string {
  return text(x, y, content, { size, weight });
}

function stackedBar(
  y: number,
  title: string,
  parts: { name: string; bytes: number }[],
  total: number,
  body: string[],
): number {
  body.push(label(MARGIN, y, title, 13, 'bold'));
  const top = y + 8;
  const width = WIDTH - 2 * MARGIN;
  let x = MARGIN;
  for (const part of parts) {
    if (part.bytes <= 0 || total <= 0) continue;
    const w = (part.bytes / total) * width;
    body.push(
      `<rect x="${n(x)}" y="${n(top)}" width="${n(w)}" height="${BAR}" fill="${COLOURS[part.name] ?? '#9ca3af'}"><title>${escapeXml(`${part.name}: ${formatBytes(part.bytes)}`)}</title></rect>`,
    );
    x += w;
  }
  body.push(
    `<rect x="${MARGIN}" y="${n(top)}" width="${width}" height="${BAR}" fill="none" stroke="#111827" stroke-width="0.5"/>`,
  );
  // Legend: two columns of the non-empty parts.
  let row = 0;
  const shown = parts.filter((part) => part.bytes > 0);
  shown.forEach((part, index) => {
    const column = index % 2;
    row = Math.floor(index / 2);
    const lx = MARGIN + column * (width / 2);
    const ly = top + BAR + 20 + row * 18;
    body.push(
      `<rect x="${n(lx)}" y="${n(ly - 10)}" width="12" height="12" fill="${COLOURS[part.name] ?? '#9ca3af'}"/>`,
    );
    body.push(
      label(lx + 18, ly, `${part.name}  ${formatBytes(part.bytes)} (${((100 * part.bytes) / total).toFixed(1)} %)`, 11),
    );
  });
  return top + BAR + 20 + (shown.length === 0 ? 0 : (row + 1) * 18) + 16;
}

export function renderExplainSvg(report: ExplainReport): string {
  if (report === null || typeof report !== 'object' || !Array.isArray(report.classes)) {
    throw check.typeError('renderExplainSvg', 'report', 'an explain report (from explainProcess)', report);
  }
  const body: string[] = [];
  body.push(
    label(
      MARGIN,
      28,
      `pid ${report.pid} ${report.comm ?? ''}: RSS ${formatBytes(report.totals.residentBytes)}`,
      15,
      'bold',
    ),
  );
  body.push(label(MARGIN, 46, report.verdict.summary.slice(0, 150), 11));
  let y = 76;
  y = stackedBar(
    y,
    'resident memory by class (outside view)',
    report.classes.map((entry) => ({ name: entry.name, bytes: entry.residentBytes })),
    report.totals.residentBytes,
    body,
  );
  if (report.verdict.split !== null) {
    y = stackedBar(
      y,
      'RSS split with the agent',
      report.verdict.split.map((part) => ({
        name: part.part === 'code-and-files' ? 'code-and-files-part' : part.part,
        bytes: part.bytes,
      })),
      report.totals.residentBytes,
      body,
    );
  }
  const arenas = report.glibc?.arenas.list ?? [];
  if (arenas.length > 0) {
    body.push(label(MARGIN, y, 'glibc arenas: resident, and free per malloc_info (agent)', 13, 'bold'));
    y += 10;
    const largest = Math.max(1, ...arenas.map((arena) => Math.max(arena.residentBytes, arena.freeBytes ?? 0)));
    const width = WIDTH - 2 * MARGIN - 220;
    for (const arena of arenas) {
      const name = arena.main ? 'main' : arena.index === null ? '?' : `#${arena.index}`;
      body.push(label(MARGIN, y + 13, name, 11));
      body.push(
        `<rect x="${MARGIN + 60}" y="${n(y)}" width="${n((arena.residentBytes / largest) * width)}" height="9" fill="#7c3aed"/>`,
      );
      if (arena.freeBytes !== null) {
        body.push(
          `<rect x="${MARGIN + 60}" y="${n(y + 9)}" width="${n((arena.freeBytes / largest) * width)}" height="7" fill="#dc2626"/>`,
        );
      }
      body.push(
        label(
          MARGIN + 70 + width,
          y + 13,
          `${formatBytes(arena.residentBytes)} resident${arena.freeBytes === null ? '' : `, ${formatBytes(arena.freeBytes)} free`}`,
          11,
        ),
      );
      y += 20;
    }
    y += 10;
  }
  return svgDocument(WIDTH, Math.ceil(y + MARGIN), body);
}
