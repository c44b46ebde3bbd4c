/**
 * What a command gets from the process: environment, working directory, output streams and
 * signal subscription. main.ts builds it from `process`; commands never touch `process` directly,
 * so they stay testable and main.ts remains the one place that decides how the process exits.
 */

/** The process as seen by a command. */
export interface CliContext {
  /** Environment (`PORT`, `HOST`, `PORTCULLIS_CONFIG`, `${env:NAME}` references in config). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Working directory: the embedded demo keeps its state in `<cwd>/.portcullis/`. */
  readonly cwd: string;
  /** Machine-readable output (the JWT, the check matrix). */
  stdout(text: string): void;
  /** Human-readable output: banners, warnings, errors. */
  stderr(text: string): void;
  /** Calls `handler` on SIGINT or SIGTERM until the returned function is called. */
  onSignal(handler: (signal: NodeJS.Signals) => void): () => void;
}
