// Types of ./v8-heap-flags.js (plain JavaScript, like the entry's other checks).
export declare function pretenuringFlag(execArgv: readonly string[]): string | undefined;
export declare function turnOffPretenuring(): void;
