/** What the line charts (watch, compare) share: text elements, byte and time axes. */
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
