// Types of ./v8-heap-flags.js (plain JavaScript: the entry loads it before any TypeScript).
export declare function pretenuringFlag(execArgv: readonly string[]): string | undefined;
