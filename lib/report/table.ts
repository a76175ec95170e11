/**
 * Plain-text tables for the terminal: the first `textColumns` columns left-aligned,
 * the rest (numbers) right-aligned. Given a width, a table that would be wider
 * first wraps its headers and its text columns at word boundaries (numbers stay
 * whole), then drops the columns it was told it may lose, least useful first, and
 * says which; if even that does not fit, each row becomes a block of "name: value"
 * lines. Without a width it keeps whole lines.
 */
import { displayWidth, wrapLine } from './terminal.js';

/** A row of cells, or a line spanning the whole table (a group's title). */
export type TableRow = string[] | { section: string };

export interface TableOptions {
  /** Columns aligned left (text); the rest align right. Default 1. */
  textColumns?: number;
  /** Columns to fit; undefined keeps whole lines. */
  width?: number;
  /** Columns that may wrap their text (default: the text columns). */
  wrap?: number[];
  /** Columns that may be left out to fit, the first given the first dropped. */
  drop?: number[];
  /** Each column's alignment, where textColumns does not say it (a name, its number, then a note). */
  align?: ('left' | 'right')[];
  /** Rows only: no titles and no rule (the titles still name the columns a narrow terminal lists). */
  bare?: boolean;
  /** Spaces before every line. */
  indent?: number;
}

/** Spaces between two columns. */
export const COLUMN_GAP = 2;
/** The narrowest a wrapped text column becomes, unless a single word needs more. */
const MIN_WRAPPED = 10;

const pad = (text: string, width: number, right: boolean) => {
  const room = Math.max(0, width - displayWidth(text));
  return right ? ' '.repeat(room) + text : text + ' '.repeat(room);
};

/** Lines of a cell wrapped to width, with no indent of their own. */
function cellLines(cell: string, width: number): string[] {
  if (displayWidth(cell) <= width) return [cell];
  const indent = /^ */.exec(cell)![0];
  return wrapLine(cell, width).map((line, index) => (index === 0 ? line : indent + line.trimStart()));
}

const longestWord = (cell: string) => Math.max(0, ...cell.split(/ +/).map(displayWidth));

/** Each column's natural width: its widest cell or title. */
export function columnWidths(header: string[], rows: TableRow[]): number[] {
  const cells = rows.filter((row): row is string[] => Array.isArray(row));
  return header.map((title, column) =>
    Math.max(displayWidth(title), ...cells.map((row) => displayWidth(row[column] ?? ''))),
  );
}

export function renderTable(header: string[], rows: TableRow[], options: number | TableOptions = {}): string {
  const settings: TableOptions = typeof options === 'number' ? { textColumns: options } : options;
  const textColumns = settings.textColumns ?? 1;
  const right = (column: number) => (settings.align?.[column] ?? (column < textColumns ? 'left' : 'right')) === 'right';
  const wrappable = new Set(settings.wrap ?? header.map((_, column) => column).filter((c) => !right(c)));
  const indent = ' '.repeat(settings.indent ?? 0);
  const width = settings.width === undefined ? undefined : settings.width - indent.length;
  const cells = rows.filter((row): row is string[] => Array.isArray(row));

  const natural = columnWidths(header, rows);
  const least = header.map((title, column) => {
    const words = Math.max(longestWord(title), ...cells.map((row) => longestWord(row[column] ?? '')));
    if (wrappable.has(column)) return Math.min(natural[column]!, Math.max(words, MIN_WRAPPED));
    // A number column keeps its cells whole; only its title may wrap.
    return Math.max(words, ...cells.map((row) => displayWidth(row[column] ?? '')));
  });

  let shown = header.map((_, column) => column);
  const dropped: number[] = [];
  const total = (widths: number[]) => widths.reduce((sum, one) => sum + one, 0) + COLUMN_GAP * (widths.length - 1);
  let widths = shown.map((column) => natural[column]!);
  if (width !== undefined) {
    const queue = [...(settings.drop ?? [])];
    for (;;) {
      widths = shown.map((column) => natural[column]!);
      if (total(widths) <= width) break;
      const floor = shown.map((column) => least[column]!);
      if (total(floor) <= width) {
        widths = share(
          floor,
          shown.map((column) => natural[column]!),
          width - total(floor),
        );
        break;
      }
      const next = queue.shift();
      if (next === undefined)
        return records(header, rows, width, right)
          .split('\n')
          .map((line) => indent + line)
          .join('\n');
      shown = shown.filter((column) => column !== next);
      dropped.push(next);
    }
  }

  const render = (row: string[], isHeader: boolean): string[] => {
    const wrapped = shown.map((column, index) => cellLines(row[column] ?? '', widths[index]!));
    const height = Math.max(...wrapped.map((lines) => lines.length));
    const lines: string[] = [];
    for (let line = 0; line < height; line++) {
      lines.push(
        shown
          .map((column, index) =>
            pad(
              // Titles sit on their last line, above the rule, like the cells they name.
              isHeader
                ? (wrapped[index]![line - (height - wrapped[index]!.length)] ?? '')
                : (wrapped[index]![line] ?? ''),
              widths[index]!,
              right(column),
            ),
          )
          .join(' '.repeat(COLUMN_GAP))
          .trimEnd(),
      );
    }
    return lines;
  };
  const out = settings.bare
    ? []
    : [...render(header, true), widths.map((one) => '-'.repeat(one)).join(' '.repeat(COLUMN_GAP))];
  for (const row of rows) {
    if (Array.isArray(row)) out.push(...render(row, false));
    else out.push(...wrapLine(row.section, width));
  }
  if (dropped.length > 0) {
    out.push(
      `(not shown at ${width} columns: ${dropped.map((column) => header[column]).join(', ')}; a wider terminal or --width shows them)`,
    );
  }
  return out.flatMap((line) => wrapLine(line, width).map((part) => indent + part)).join('\n');
}

/** Extra room given to the columns that want it, in proportion to what they lack. */
function share(floor: number[], wanted: number[], room: number): number[] {
  const lack = wanted.map((one, index) => one - floor[index]!);
  const lacking = lack.reduce((sum, one) => sum + one, 0);
  const widths = floor.map((one, index) => (lacking === 0 ? one : one + Math.floor((room * lack[index]!) / lacking)));
  return widths.map((one, index) => Math.min(one, wanted[index]!));
}

/** The last resort for a narrow terminal: each row as its first cell, then "title: value" lines under it. */
function records(header: string[], rows: TableRow[], width: number, right: (column: number) => boolean): string {
  const out: string[] = [];
  for (const row of rows) {
    if (!Array.isArray(row)) {
      out.push(...wrapLine(row.section, width));
      continue;
    }
    out.push(...wrapLine(row[0] ?? '', width));
    header.forEach((title, column) => {
      if (column === 0 || (row[column] ?? '') === '') return;
      const name = title.trim() === '' ? '' : `${title.trim()}: `;
      out.push(...wrapLine(`${right(column) ? '    ' : '  '}${name}${row[column]!.trim()}`, width));
    });
  }
  return out.join('\n');
}
