/**
 * The parts of prom-client this service uses, imported one by one. prom-client's
 * index also loads, on every import, collectDefaultMetrics with all its process
 * metrics (node:v8, perf_hooks' event-loop and GC observers, the file-descriptor
 * readers), the cluster aggregator (node:cluster) and the Pushgateway
 * (node:https): loading it took ~34 ms here against ~5 ms for the registry and
 * the three metric types (issue 20.5), and the process metrics are off unless
 * runtime.metrics.enabled: they load when asked for ({@link collectDefaultMetrics}).
 *
 * These are prom-client's own files (it declares no `exports` map); the version
 * is pinned by the lock file, and the metrics tests fail if a file moves.
 */
import type * as PromClient from "prom-client";
import CounterClass from "prom-client/lib/counter.js";
import GaugeClass from "prom-client/lib/gauge.js";
import HistogramClass from "prom-client/lib/histogram.js";
import RegistryClass from "prom-client/lib/registry.js";

export const Counter = CounterClass;
export const Gauge = GaugeClass;
export const Histogram = HistogramClass;
export const Registry = RegistryClass;
export type Counter<T extends string = string> = PromClient.Counter<T>;
export type Gauge<T extends string = string> = PromClient.Gauge<T>;
export type Histogram<T extends string = string> = PromClient.Histogram<T>;
export type Registry = PromClient.Registry;
/** A metric's child bound to label values (`labels(…)`). */
export type CounterChild = PromClient.Counter.Internal;
export type HistogramChild<T extends string = string> = PromClient.Histogram.Internal<T>;

/** Loads prom-client's process metrics (CPU, memory, event loop, GC, handles) and registers them in `config.register`. */
export async function collectDefaultMetrics(config: PromClient.DefaultMetricsCollectorConfiguration<PromClient.RegistryContentType>): Promise<void> {
  const { default: collect } = await import("prom-client/lib/defaultMetrics.js");
  collect(config);
}
