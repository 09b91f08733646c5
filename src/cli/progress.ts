/**
 * Progress bars for long operator commands (DECISIONS D11): on stderr, and
 * only when stderr is a terminal — never in pipes, logs or tests.
 */
import cliProgress from "cli-progress";

export interface Progress {
  /** Sets the count done (and the total, when it changed). */
  update(done: number, total?: number): void;
  stop(): void;
}

const NONE: Progress = { update: () => {}, stop: () => {} };

export function progressBar(label: string, total: number): Progress {
  if (!process.stderr.isTTY) return NONE;
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} [{bar}] {percentage}% {value}/{total} {duration_formatted} (eta {eta_formatted})`,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(Math.max(total, 0), 0);
  let currentTotal = total;
  return {
    update(done, newTotal) {
      if (newTotal !== undefined && newTotal !== currentTotal) {
        currentTotal = newTotal;
        bar.setTotal(newTotal);
      }
      bar.update(done);
    },
    stop: () => bar.stop(),
  };
}
