// What every fedmm command provides.
export interface Command {
  readonly name: string;
  /** One line for `fedmm --help`. */
  readonly summary: string;
  /** The full help text with examples. */
  help(): string;
  /** Runs with the words after the command name; resolves to the exit code. */
  run(argv: readonly string[]): Promise<number>;
}
