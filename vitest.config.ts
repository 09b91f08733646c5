import { defineConfig } from "vitest/config";

// One worker: this machine has 2 cores and every DB test shares one throwaway
// mariadbd (DECISIONS D13), so the suite is budgeted as serial.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["testkit/global-setup.ts"],
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ["default"],
  },
});
