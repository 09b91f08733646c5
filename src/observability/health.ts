/**
 * The service's health as a function of its life-cycle phase (DECISIONS D2,
 * D3): SERVING only in phase "serving"; start-up (starting, connecting,
 * migrating), standby, recovery and stopping are NOT_SERVING. One
 * {@link HealthState} per server; the gRPC health service, the phase metric and
 * the HTTP /healthz endpoint all follow it.
 */

export type ServingStatus = "SERVING" | "NOT_SERVING";

export function servingStatusOf(phase: string): ServingStatus {
  return phase === "serving" ? "SERVING" : "NOT_SERVING";
}

export type HealthListener = (status: ServingStatus, phase: string) => void;

export class HealthState {
  #phase = "starting";
  readonly #listeners: HealthListener[] = [];
  #refresh: (() => void) | undefined;

  /**
   * A synchronous check run before every health answer, which may move the
   * phase (the leader lease's deadline: a server resumed after a pause must
   * not answer SERVING from before it).
   */
  setRefresh(refresh: () => void): void {
    this.#refresh = refresh;
  }

  /** Runs the refresh check; answer health only after it. */
  refresh(): void {
    this.#refresh?.();
  }

  get phase(): string {
    return this.#phase;
  }

  get status(): ServingStatus {
    return servingStatusOf(this.#phase);
  }

  /** Calls `listener` now and on every phase change. */
  subscribe(listener: HealthListener): void {
    this.#listeners.push(listener);
    listener(this.status, this.#phase);
  }

  setPhase(phase: string): void {
    if (phase === this.#phase) return;
    this.#phase = phase;
    const status = this.status;
    for (const listener of this.#listeners) listener(status, phase);
  }
}
