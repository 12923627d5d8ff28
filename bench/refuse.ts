/** A missing prerequisite of a bench: one sentence that says how to get it. */
export class BenchRefused extends Error {}

/**
 * Runs a bench entry point: a {@link BenchRefused} prints its sentence and exits 1, with no stack
 * trace; any other error is a bug and keeps its stack.
 */
export async function runBench(main: () => Promise<void>): Promise<void> {
  try {
    await main()
  } catch (error) {
    if (!(error instanceof BenchRefused)) throw error
    console.error(error.message)
    process.exitCode = 1
  }
}
