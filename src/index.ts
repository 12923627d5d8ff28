/** The action's entry point: the runner executes dist/index.js, built from this file. */
import { cancelOnSignals } from './core/run.js'
import { run } from './main.js'

cancelOnSignals()
await run()
