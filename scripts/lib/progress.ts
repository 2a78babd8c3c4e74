/**
 * Progress reporting for long file operations. On a TTY a bar redrawn in place on stderr; elsewhere
 * (CI logs, pipes) one plain line when a step starts and one when it ends, so logs stay readable.
 */
import { formatBytes } from './table.ts';

export interface Progress {
  /** Adds `bytes` to the amount done. */
  advance(bytes: number): void;
  /** Finishes the step, printing `summary` (defaults to the label and size). */
  done(summary?: string): void;
}

export interface Reporter {
  /** Starts a step of `total` bytes. */
  progress(label: string, total: number): Progress;
  /** A line of information on stderr (stdout stays clean for --json). */
  info(line: string): void;
}

const BAR_WIDTH = 24;
const REDRAW_MS = 80;

/** The reporter the CLI uses: a bar on a TTY, plain lines otherwise. */
export function stderrReporter(stream: NodeJS.WriteStream = process.stderr): Reporter {
  const tty = stream.isTTY === true;
  return {
    info: (line) => stream.write(`${line}\n`),
    progress(label, total) {
      if (!tty) {
        stream.write(`${label} (${formatBytes(total)})…\n`);
        return { advance() {}, done: (summary) => stream.write(`${summary ?? `${label}: done`}\n`) };
      }
      let done = 0;
      let drawnAt = 0;
      const draw = () => {
        const fraction = total === 0 ? 1 : Math.min(1, done / total);
        const filled = Math.round(fraction * BAR_WIDTH);
        const bar = `${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}`;
        const pct = `${Math.floor(fraction * 100)}%`.padStart(4);
        stream.write(`\r\x1b[2K${label} ${bar} ${pct} ${formatBytes(done)}/${formatBytes(total)}`);
      };
      draw();
      return {
        advance(bytes) {
          done += bytes;
          const now = Date.now();
          if (now - drawnAt >= REDRAW_MS) {
            drawnAt = now;
            draw();
          }
        },
        done(summary) {
          stream.write(`\r\x1b[2K${summary ?? `${label}: done`}\n`);
        },
      };
    },
  };
}

/** A reporter that prints nothing (seeding, tests). */
export const silentReporter: Reporter = {
  info() {},
  progress: () => ({ advance() {}, done() {} }),
};
