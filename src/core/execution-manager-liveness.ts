/** What the database says of an execution manager: alive, declared dead, or never registered. */
export type ExecutionManagerLiveness = "alive" | "dead" | "unknown";
