/** What a bulk command tells its user: a progress display while it runs, and at the end what it skipped and why. */
import cliProgress from 'cli-progress';

const EXAMPLES_PER_KIND = 5;

const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;
const ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** An example as it may be printed: names from the input cannot move the cursor, colour the terminal or forge a line. */
function printable(text: string): string {
  return text.replace(CONTROL_CHARACTERS, (character) => ESCAPES[character] ?? `\\x${character.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** The input or output a user named cannot be used: told in one sentence, exit code 2, nothing imported or written. */
export class UsageError extends Error {}

/** Skipped items by kind, with a count and the first few examples of each. */
export class Problems {
  private readonly kinds = new Map<string, { count: number; examples: string[] }>();

  add(kind: string, example: string): void {
    let entry = this.kinds.get(kind);
    if (!entry) {
      entry = { count: 0, examples: [] };
      this.kinds.set(kind, entry);
    }
    entry.count++;
    if (entry.examples.length < EXAMPLES_PER_KIND) entry.examples.push(printable(example));
  }

  get total(): number {
    let total = 0;
    for (const entry of this.kinds.values()) total += entry.count;
    return total;
  }

  count(kind: string): number {
    return this.kinds.get(kind)?.count ?? 0;
  }

  /** Human-readable lines, or none when nothing was skipped. */
  lines(): string[] {
    const out: string[] = [];
    if (this.total === 0) return out;
    out.push(`skipped ${this.total}:`);
    for (const [kind, entry] of [...this.kinds].sort((a, b) => b[1].count - a[1].count)) {
      out.push(`  ${kind}: ${entry.count}`);
      for (const example of entry.examples) out.push(`    e.g. ${example}`);
    }
    return out;
  }
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 60) return `${Math.round(seconds)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
}

export interface ProgressOptions {
  label: string;
  /** What `count` counts (covers, lines, rows). */
  unit: string;
  /** Total of the measure `update` reports (bytes or items); 0 when unknown. */
  total: number;
  stream?: NodeJS.WriteStream;
  /** Seconds between plain lines when the stream is not a terminal. */
  intervalSeconds?: number;
}

/**
 * A bar with rate and ETA on a terminal (cli-progress), plain periodic lines otherwise (logs, CI). Progress is
 * measured in any unit with a known total (archive bytes, for instance) while the rate is shown in items.
 */
export class Progress {
  private readonly options: ProgressOptions;
  private readonly stream: NodeJS.WriteStream;
  private readonly bar: cliProgress.SingleBar | undefined;
  private readonly started = Date.now();
  private lastLine = Date.now();
  private value = 0;
  private count = 0;

  constructor(options: ProgressOptions) {
    this.options = options;
    this.stream = options.stream ?? process.stderr;
    if (this.stream.isTTY) {
      this.bar = new cliProgress.SingleBar(
        {
          stream: this.stream,
          format: `${options.label} [{bar}] {percentage}% | {count} ${options.unit} | {rate} ${options.unit}/s | ETA {eta_formatted}`,
          etaBuffer: 50,
          fps: 5,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(Math.max(1, options.total), 0, { count: 0, rate: 0 });
    }
  }

  private rate(): number {
    const seconds = (Date.now() - this.started) / 1000;
    return seconds > 0 ? Math.round(this.count / seconds) : 0;
  }

  update(value: number, count: number): void {
    this.value = value;
    this.count = count;
    if (this.bar) {
      this.bar.update(Math.min(value, Math.max(1, this.options.total)), { count, rate: this.rate() });
      return;
    }
    const now = Date.now();
    if (now - this.lastLine >= (this.options.intervalSeconds ?? 5) * 1000) {
      this.lastLine = now;
      this.stream.write(`${this.line()}\n`);
    }
  }

  private line(): string {
    const { label, unit, total } = this.options;
    const seconds = (Date.now() - this.started) / 1000;
    let text = `${label}: ${this.count} ${unit}, ${this.rate()} ${unit}/s`;
    if (total > 0) {
      const fraction = Math.min(1, this.value / total);
      const eta = fraction > 0 ? (seconds / fraction) * (1 - fraction) : Number.NaN;
      text += `, ${(fraction * 100).toFixed(1)}%, ETA ${formatDuration(eta)}`;
    }
    return text;
  }

  stop(): void {
    if (this.bar) {
      this.bar.update(Math.max(1, this.options.total), { count: this.count, rate: this.rate() });
      this.bar.stop();
    }
  }
}

export interface ProgressSink {
  update(value: number, count: number): void;
  stop(): void;
}
/** How an operation asks for a progress display; the CLI passes real ones, tests and library callers none. */
export type ProgressFactory = (options: { label: string; unit: string; total: number }) => ProgressSink;
export const noProgress: ProgressFactory = () => ({ update() {}, stop() {} });
