/**
 * Where a command's words go: human text to stdout fitted to the width (and
 * coloured on a terminal), data (JSON, a URL) to stdout untouched, warnings to
 * stderr, and progress to stderr only when it is a terminal and the command is
 * not printing data.
 */
import { fitText, type Palette, paintVerdicts, palette } from '../report/terminal.js';

export interface Output {
  /** Human text: each line wrapped to width, verdict marks coloured where colour is on (unless the line is coloured already). */
  print(text: string): void;
  /** Data (JSON, a URL): written as it is. */
  data(text: string): void;
  warn(text: string): void;
  /** A progress line redrawn in place on a terminal's stderr; nothing otherwise. */
  progress(text: string): void;
  /** Ends a progress line (before the result is printed). */
  endProgress(): void;
  /** Columns to fit; undefined keeps whole lines (piped output). */
  width: number | undefined;
  colours: Palette;
}

export interface OutputStreams {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown; isTTY?: boolean; columns?: number };
  width: number | undefined;
  colour: boolean;
}

export function createOutput(streams: OutputStreams): Output {
  const colours = palette(streams.colour);
  const live = streams.stderr.isTTY === true;
  let drawn = false;
  const endProgress = () => {
    if (drawn) streams.stderr.write('\r\x1b[K');
    drawn = false;
  };
  return {
    print(text) {
      endProgress();
      const fitted = fitText(text, streams.width);
      streams.stdout.write(
        `${
          streams.colour
            ? fitted
                .split('\n')
                // A line with escapes in it was coloured by its renderer (renderRunSummary paints its own
                // marks and counts): painting it again would wrap each mark in a second pair.
                .map((line) => (line.includes('\x1b[') ? line : paintVerdicts(line, colours)))
                .join('\n')
            : fitted
        }\n`,
      );
    },
    data(text) {
      endProgress();
      streams.stdout.write(`${text}\n`);
    },
    warn(text) {
      endProgress();
      streams.stderr.write(`${text}\n`);
    },
    progress(text) {
      if (!live) return;
      // One line, never wrapped: a wrapped line cannot be redrawn with \r.
      const columns = (streams.stderr.columns ?? 80) - 1;
      const line = `… ${text}`;
      streams.stderr.write(`\r\x1b[K${[...line].slice(0, columns).join('')}`);
      drawn = true;
    },
    endProgress,
    width: streams.width,
    colours,
  };
}

/** The same output with progress turned off (a command printing JSON shows none). */
export function quiet(output: Output): Output {
  return { ...output, progress: () => {} };
}
