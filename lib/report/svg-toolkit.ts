/**
 * The one SVG toolkit every malloc-lab chart uses (report/svg.ts for experiment runs,
 * report/watch-svg.ts for a watch series): escaping, stable numbers, the document
 * frame, text, plot areas, byte axes with ticks on round binary sizes, and lines
 * broken where a value is missing. Output depends only on the arguments.
 */
import { formatBytes } from '../infra/units.js';

export const FONT = "system-ui, -apple-system, 'Segoe UI', 'DejaVu Sans', Helvetica, Arial, sans-serif";

/** Grey shades the charts share. */
export const INK = { text: '#111827', label: '#4b5563', note: '#6b7280', grid: '#e5e7eb', frame: '#d1d5db' } as const;

export function escapeXml(text: string): string {
  return (
    text
      // Characters XML 1.0 cannot carry at all.
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  );
}

/** Coordinates with one decimal and never "-0", so output is stable. */
export function n(value: number): string {
  const rounded = Math.round(value * 10) / 10;
  return String(rounded === 0 ? 0 : rounded);
}

/** The whole document: a white background under the given elements. */
export function svgDocument(width: number, height: number, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${escapeXml(FONT)}">`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(1, max - 1))}…`;
}

/** Words into lines of at most maxChars (a longer word gets a line of its own). */
export function wrapWords(content: string, maxChars: number): string[] {
  const rows: string[] = [];
  let row = '';
  for (const word of content.split(/\s+/).filter(Boolean)) {
    if (row && row.length + 1 + word.length > maxChars) {
      rows.push(row);
      row = word;
    } else {
      row = row ? `${row} ${word}` : word;
    }
  }
  if (row) rows.push(row);
  return rows.length ? rows : [''];
}

export interface TextOptions {
  size?: number;
  weight?: 'bold' | 'normal';
  fill?: string;
  anchor?: 'start' | 'middle' | 'end';
  style?: 'italic';
  transform?: string;
  /** A tooltip. */
  title?: string;
}

export function text(x: number, y: number, content: string, options: TextOptions = {}): string {
  const attributes = [
    `x="${n(x)}"`,
    `y="${n(y)}"`,
    `font-size="${options.size ?? 11}"`,
    options.weight === 'bold' ? 'font-weight="bold"' : '',
    `fill="${options.fill ?? INK.text}"`,
    options.anchor && options.anchor !== 'start' ? `text-anchor="${options.anchor}"` : '',
    options.style ? `font-style="${options.style}"` : '',
    options.transform ? `transform="${options.transform}"` : '',
  ].filter(Boolean);
  const tooltip = options.title !== undefined ? `<title>${escapeXml(options.title)}</title>` : '';
  return `<text ${attributes.join(' ')}>${tooltip}${escapeXml(content)}</text>`;
}

export interface Span {
  content: string;
  size?: number;
  weight?: 'bold';
  fill?: string;
}

/** Runs of differently styled text on one line; the renderer places each after the last, so no widths are guessed. */
export function spans(x: number, y: number, runs: Span[], title?: string): string {
  const tooltip = title !== undefined ? `<title>${escapeXml(title)}</title>` : '';
  const inner = runs
    .map((run) => {
      const attributes = [
        run.size !== undefined ? `font-size="${run.size}"` : '',
        run.weight === 'bold' ? 'font-weight="bold"' : '',
        `fill="${run.fill ?? INK.text}"`,
      ].filter(Boolean);
      return `<tspan ${attributes.join(' ')}>${escapeXml(run.content)}</tspan>`;
    })
    .join('');
  return `<text x="${n(x)}" y="${n(y)}" font-size="11" xml:space="preserve">${tooltip}${inner}</text>`;
}

/** A panel's heading: its title in bold, then a note in grey. y is the heading's top. */
export function heading(x: number, y: number, title: string, note: string): string {
  return spans(x, y + 11, [
    { content: title, size: 12, weight: 'bold' },
    { content: `  ${note}`, size: 10, fill: INK.note },
  ]);
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The light background and frame of a plot. */
export function plotArea(box: Box): string {
  return `<rect x="${n(box.x)}" y="${n(box.y)}" width="${n(box.width)}" height="${n(box.height)}" fill="#fafafa" stroke="${INK.frame}"/>`;
}

/** A straight line; extra holds further attributes (` stroke-width="2"`). */
export function line(x1: number, y1: number, x2: number, y2: number, stroke: string, extra = ''): string {
  return `<line x1="${n(x1)}" y1="${n(y1)}" x2="${n(x2)}" y2="${n(y2)}" stroke="${stroke}"${extra}/>`;
}

/** A line through points ("x,y"), split where a point is missing; runs of one point come back alone. */
export function brokenLine(points: (string | null)[]): { lines: string[][]; single: string[] } {
  const lines: string[][] = [];
  const single: string[] = [];
  let run: string[] = [];
  const flush = () => {
    if (run.length > 1) lines.push(run);
    else if (run.length === 1) single.push(run[0]!);
    run = [];
  };
  for (const point of points) {
    if (point === null) flush();
    else run.push(point);
  }
  flush();
  return { lines, single };
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** A tick value in formatBytes's unit, with as many decimals as it needs (1.25 MiB, not 1.3 MiB). */
export function byteTick(value: number, signed = false): string {
  const unit = formatBytes(value).split(' ')[1] ?? 'B';
  const exact = Math.abs(value) / 1024 ** Math.max(0, BYTE_UNITS.indexOf(unit));
  let digits = 0;
  while (digits < 3 && Math.abs(Number(exact.toFixed(digits)) - exact) > exact * 1e-9) digits++;
  const sign = value < 0 ? '-' : signed && value > 0 ? '+' : '';
  return `${sign}${exact.toFixed(digits)} ${unit}`;
}

/** Powers of two of each byte unit: ticks land on round binary sizes. */
const BYTE_STEPS = [1, 1024, 1024 ** 2, 1024 ** 3, 1024 ** 4].flatMap((unit) =>
  [1, 2, 4, 8, 16, 32, 64, 128, 256, 512].map((multiple) => unit * multiple),
);

export interface Scale {
  lo: number;
  hi: number;
  step: number;
}

/** An axis over values in bytes with at most maxIntervals ticks; includeZero keeps 0 on it. */
export function byteScale(values: number[], maxIntervals: number, includeZero: boolean): Scale {
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (values.length === 0) [lo, hi] = [0, 1024];
  if (hi === lo) {
    const pad = Math.max(Math.abs(lo) * 0.05, 4096);
    lo -= pad;
    hi += pad;
  }
  // Start from zero when zero is near anyway; a far baseline would flatten the line.
  if (includeZero || (lo > 0 && lo <= hi / 2)) lo = Math.min(lo, 0);
  if (includeZero || (hi < 0 && hi >= lo / 2)) hi = Math.max(hi, 0);
  const span = hi - lo;
  const step =
    BYTE_STEPS.find((candidate) => Math.ceil(hi / candidate) - Math.floor(lo / candidate) <= maxIntervals) ?? span;
  return { lo: Math.floor(lo / step) * step, hi: Math.ceil(hi / step) * step, step };
}

/**
 * A byte axis on box: a grid line and a label (left of the box) per tick. Returns the
 * elements and where a value sits vertically. signed marks zero and labels growth with +.
 */
export function byteAxis(box: Box, scale: Scale, signed = false): { svg: string[]; y: (value: number) => number } {
  const y = (value: number) => box.y + box.height - ((value - scale.lo) / (scale.hi - scale.lo)) * box.height;
  const svg: string[] = [];
  for (let tick = scale.lo; tick <= scale.hi + scale.step / 2; tick += scale.step) {
    const ty = y(tick);
    const zero = signed && tick === 0;
    svg.push(
      line(box.x, ty, box.x + box.width, ty, zero ? '#9ca3af' : INK.grid, ' stroke-width="1"'),
      text(box.x - 6, ty + 3.5, byteTick(tick, signed), { anchor: 'end', size: 10, fill: INK.label }),
    );
  }
  return { svg, y };
}

/** 1, 2, 5 × 10^k seconds, at most about 8 intervals. */
export function timeStep(seconds: number): number {
  for (let power = -2; power < 7; power++) {
    for (const base of [1, 2, 5]) {
      const step = base * 10 ** power;
      if (seconds / step <= 8) return step;
    }
  }
  return seconds;
}

/**
 * A time axis on box over `seconds`: a grid line and a label (below the box) per tick.
 * Returns the elements and where a time in milliseconds sits horizontally.
 */
export function timeAxis(box: Box, seconds: number): { svg: string[]; x: (ms: number) => number } {
  const x = (ms: number) => box.x + (seconds > 0 ? (ms / 1000 / seconds) * box.width : box.width / 2);
  const svg: string[] = [];
  const step = timeStep(seconds);
  for (let tick = 0; tick <= seconds + step * 1e-9; tick += step) {
    const tx = x(tick * 1000);
    svg.push(
      line(tx, box.y, tx, box.y + box.height, '#eeeeee'),
      text(tx, box.y + box.height + 14, `${Number(tick.toFixed(2))} s`, {
        size: 10,
        fill: INK.label,
        anchor: 'middle',
      }),
    );
  }
  return { svg, x };
}

/**
 * The byte axis of a line plot over values, inset 4 px from the plot's edges (lines
 * do not touch the frame); without values, a "no samples" note and no y.
 */
export function valuesAxis(
  plot: Box,
  values: number[],
  includeZero: boolean,
): { svg: string[]; y: ((value: number) => number) | null } {
  if (values.length === 0) {
    return {
      svg: [
        text(plot.x + plot.width / 2, plot.y + plot.height / 2, 'no samples', { fill: INK.note, anchor: 'middle' }),
      ],
      y: null,
    };
  }
  return byteAxis(
    { x: plot.x, y: plot.y + 4, width: plot.width, height: plot.height - 8 },
    byteScale(values, 5, includeZero),
  );
}

/** A data series through points ("x,y", null where a value is missing): polylines, and dots for lone points. */
export function seriesLine(
  points: (string | null)[],
  style: { colour: string; width: number; dash?: string; title: string },
): string[] {
  const title = `<title>${escapeXml(style.title)}</title>`;
  const broken = brokenLine(points);
  const svg = broken.lines.map(
    (run) =>
      `<polyline points="${run.join(' ')}" fill="none" stroke="${style.colour}" stroke-width="${style.width}" stroke-linejoin="round"${style.dash ? ` stroke-dasharray="${style.dash}"` : ''}>${title}</polyline>`,
  );
  for (const point of broken.single) {
    const [x, y] = point.split(',');
    svg.push(`<circle cx="${x}" cy="${y}" r="2.5" fill="${style.colour}">${title}</circle>`);
  }
  return svg;
}
