// Progress of a run on stderr: a live bar redrawn in place on a terminal, plain periodic lines otherwise
// (CI logs), nothing with --quiet. One reporter serves every repeat of an experiment, one bar per run.
import { duration, pct } from './format.js';

/** verbose: a line per round with the training loss and the round's wall time. */
export type ProgressMode = 'tty' | 'lines' | 'verbose' | 'quiet';

/** What the reporter reads from one finished round (a subset of the runtime's metrics.jsonl record). */
export interface RoundProgress {
  readonly round: number;
  readonly accepted: number;
  readonly dropped: number;
  readonly trainLoss?: number;
  readonly dev?: Readonly<Record<string, number>>;
  readonly phases: { readonly round: number };
}

export interface ProgressSink {
  write(text: string): void;
  /** Terminal width in columns (TTY mode). */
  readonly columns?: number;
}

/** tty when stderr is a terminal, lines otherwise; quiet or verbose when asked. */
export function progressMode(quiet: boolean, verbose = false, stream: { isTTY?: boolean } = process.stderr): ProgressMode {
  if (quiet) return 'quiet';
  if (verbose) return 'verbose';
  return stream.isTTY ? 'tty' : 'lines';
}

export class Progress {
  private label = '';
  private total = 0;
  private done = 0;
  private lastLine = -Infinity;
  private roundMsSum = 0;
  private updates = 0;
  private latestDev: number | undefined;
  private drawn = false;
  private metric = '';
  private roundsRecorded = 0;

  /**
   * @param metric the headline metric name shown as the latest dev value.
   * @param every lines mode: print at most every this many ms (plus the first and last round).
   */
  constructor(readonly mode: ProgressMode, private readonly sink: ProgressSink = { write: (t) => process.stderr.write(t), columns: process.stderr.columns },
    private readonly every = 5000, private readonly now: () => number = () => Date.now()) {}

  /** A note on its own line (never interleaved with the bar). */
  note(text: string): void {
    if (this.mode === 'quiet') return;
    this.clearBar();
    this.sink.write(`${text}\n`);
    if (this.mode === 'tty' && this.total > 0 && this.done < this.total) this.draw();
  }

  /** An error on its own line, printed in every mode (quiet too). */
  error(text: string): void {
    this.clearBar();
    this.sink.write(`${text}\n`);
    if (this.mode === 'tty' && this.total > 0 && this.done < this.total) this.draw();
  }

  /** Starts a run of `total` rounds. */
  start(label: string, total: number, metric: string): void {
    this.label = label;
    this.metric = metric;
    this.total = total;
    this.done = 0;
    this.lastLine = -Infinity;
    this.roundMsSum = 0;
    this.roundsRecorded = 0;
    this.updates = 0;
    this.latestDev = undefined;
    if (this.mode === 'tty') this.draw();
    else if (this.mode !== 'quiet') this.sink.write(`${label}: ${total} rounds\n`);
  }

  round(r: RoundProgress): void {
    this.done = r.round + 1;
    this.roundMsSum += r.phases.round;
    this.roundsRecorded++;
    this.updates += r.accepted;
    const dev = r.dev?.[this.metric];
    if (dev !== undefined) this.latestDev = dev;
    if (this.mode === 'tty') this.draw();
    else if (this.mode === 'verbose') {
      const loss = r.trainLoss === undefined ? '' : `  train loss ${r.trainLoss.toFixed(4)}`;
      this.sink.write(`${this.label}: ${this.status()}${loss}  round ${duration(r.phases.round)}  ${r.accepted} updates${r.dropped ? `, ${r.dropped} dropped` : ''}\n`);
    } else if (this.mode === 'lines') {
      const t = this.now();
      if (this.done === this.total || t - this.lastLine >= this.every) {
        this.lastLine = t;
        this.sink.write(`${this.label}: ${this.status()}${r.dropped ? `  (${r.dropped} updates dropped)` : ''}\n`);
      }
    }
  }

  /** Ends the run's bar with a final line. */
  finish(summary: string): void {
    if (this.mode === 'quiet') return;
    this.clearBar();
    this.total = 0;
    this.sink.write(`${this.label}: ${summary}\n`);
  }

  private rate(): number {
    return this.roundMsSum > 0 ? (1000 * this.updates) / this.roundMsSum : 0;
  }

  private eta(): string {
    if (this.roundsRecorded === 0) return '?';
    return duration((this.roundMsSum / this.roundsRecorded) * (this.total - this.done));
  }

  private status(): string {
    const dev = this.latestDev === undefined ? '' : `  dev ${this.metric} ${pct(this.latestDev)}%`;
    return `round ${this.done}/${this.total}  ETA ${this.done >= this.total ? '0s' : this.eta()}${dev}  ${this.rate().toFixed(1)} updates/s`;
  }

  private draw(): void {
    const cols = this.sink.columns ?? 80;
    const dev = this.latestDev === undefined ? '' : ` dev ${pct(this.latestDev)}%`;
    const eta = this.done >= this.total ? '' : ` ETA ${this.eta()}`;
    const status = ` ${this.done}/${this.total}${eta}${dev} ${this.rate().toFixed(1)} upd/s`;
    const width = Math.max(10, Math.min(30, cols - this.label.length - status.length - 3));
    const filled = this.total > 0 ? Math.round((width * this.done) / this.total) : 0;
    const text = `${this.label} ${'█'.repeat(filled)}${'░'.repeat(width - filled)}${status}`;
    this.sink.write(`\r\x1b[2K${text.length > cols - 1 ? text.slice(0, cols - 1) : text}`);
    this.drawn = true;
  }

  private clearBar(): void {
    if (this.drawn) {
      this.sink.write('\r\x1b[2K');
      this.drawn = false;
    }
  }
}
