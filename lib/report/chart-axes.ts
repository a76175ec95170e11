/** What the line charts (watch, compare) share: text elements, panels with a time grid, byte grids. */
import { formatBytes } from '../infra/units.js';
import { escapeXml, n } from './svg-document.js';

/** A text element in the charts' default size and colour; attributes override them. */
export function text(x: number, y: number, content: string, attributes: Record<string, string | number> = {}): string {
  const merged: Record<string, string | number> = { 'font-size': 11, fill: '#111827', ...attributes };
  const rendered = Object.entries(merged)
    .map(([key, value]) => `${key}="${typeof value === 'number' ? n(value) : escapeXml(value)}"`)
    .join(' ');
  return `<text x="${n(x)}" y="${n(y)}" ${rendered}>${escapeXml(content)}</text>`;
}

/** Byte ticks on powers of two of a unit (1, 2, 4 … 512 KiB/MiB/GiB). */
const BYTE_STEPS = [1, 1024, 1024 ** 2, 1024 ** 3, 1024 ** 4].flatMap((unit) =>
  [1, 2, 4, 8, 16, 32, 64, 128, 256, 512].map((k) => unit * k),
);

/** An axis over byte values: whole steps of a power-of-two unit, about five of them. */
export function byteScale(values: number[], fromZero: boolean): { lo: number; hi: number; step: number } {
  let lo = values.length ? Math.min(...values) : 0;
  let hi = values.length ? Math.max(...values) : 1024;
  if (fromZero) lo = Math.min(0, lo);
  if (hi === lo) {
    const pad = Math.max(Math.abs(hi) * 0.05, 4096);
    hi += pad;
    if (!fromZero) lo -= pad;
  }
  const step = BYTE_STEPS.find((candidate) => Math.ceil(hi / candidate) - Math.floor(lo / candidate) <= 5) ?? hi - lo;
  return { lo: Math.floor(lo / step) * step, hi: Math.ceil(hi / step) * step, step };
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

/** An axis label: "0", "512 KiB", "1.5 MiB". */
export function byteLabel(value: number): string {
  if (value === 0) return '0';
  const unit = formatBytes(value).split(' ')[1] ?? 'B';
  const power = ['B', 'KiB', 'MiB', 'GiB', 'TiB'].indexOf(unit);
  const exact = value / 1024 ** Math.max(0, power);
  return `${Number(exact.toFixed(2))} ${unit}`;
}

export interface Plot {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * A panel's heading (title in bold, a note in grey), its plot area, and the time
 * grid labelled in seconds; xOf maps milliseconds to x.
 */
export function timePanel(
  box: { left: number; top: number; width: number; axisWidth: number; plotHeight: number },
  title: string,
  note: string,
  seconds: number,
): { parts: string[]; plot: Plot; xOf: (ms: number) => number } {
  const parts = [
    `<text x="${n(box.left)}" y="${n(box.top + 12)}" font-size="12" xml:space="preserve"><tspan font-weight="bold" fill="#111827">${escapeXml(title)}</tspan><tspan font-size="10" fill="#6b7280">  ${escapeXml(note)}</tspan></text>`,
  ];
  const plot = {
    x: box.left + box.axisWidth,
    y: box.top + 22,
    width: box.width - box.axisWidth,
    height: box.plotHeight,
  };
  parts.push(
    `<rect x="${n(plot.x)}" y="${n(plot.y)}" width="${n(plot.width)}" height="${n(plot.height)}" fill="#fafafa" stroke="#d1d5db"/>`,
  );
  const xOf = (ms: number) => plot.x + (seconds > 0 ? (ms / 1000 / seconds) * plot.width : plot.width / 2);
  const step = timeStep(seconds);
  for (let tick = 0; tick <= seconds + step * 1e-9; tick += step) {
    const x = xOf(tick * 1000);
    parts.push(
      `<line x1="${n(x)}" y1="${n(plot.y)}" x2="${n(x)}" y2="${n(plot.y + plot.height)}" stroke="#eeeeee"/>`,
      text(x, plot.y + plot.height + 14, `${Number(tick.toFixed(2))} s`, {
        'font-size': 10,
        fill: '#4b5563',
        'text-anchor': 'middle',
      }),
    );
  }
  return { parts, plot, xOf };
}

/**
 * The byte grid of a plot for these values, labelled at the left; yOf maps bytes
 * to y. Without values, a "no samples" note instead, and yOf is null.
 */
export function byteGrid(
  plot: Plot,
  values: number[],
  fromZero: boolean,
): { parts: string[]; yOf: ((value: number) => number) | null } {
  if (values.length === 0) {
    return {
      parts: [
        text(plot.x + plot.width / 2, plot.y + plot.height / 2, 'no samples', {
          fill: '#6b7280',
          'text-anchor': 'middle',
        }),
      ],
      yOf: null,
    };
  }
  const parts: string[] = [];
  const scale = byteScale(values, fromZero);
  const inner = { y: plot.y + 4, height: plot.height - 8 };
  const yOf = (value: number) => inner.y + inner.height - ((value - scale.lo) / (scale.hi - scale.lo)) * inner.height;
  for (let tick = scale.lo; tick <= scale.hi + scale.step / 2; tick += scale.step) {
    const y = yOf(tick);
    parts.push(
      `<line x1="${n(plot.x)}" y1="${n(y)}" x2="${n(plot.x + plot.width)}" y2="${n(y)}" stroke="#e5e7eb"/>`,
      text(plot.x - 6, y + 3.5, byteLabel(tick), { 'font-size': 10, fill: '#4b5563', 'text-anchor': 'end' }),
    );
  }
  return { parts, yOf };
}
