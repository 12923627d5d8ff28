/**
 * Checked by `npm run typecheck`, never run: Config and the plan (with the stage plans in it) are
 * read-only, so no check or stage can write into them (issue 16, move 3). Each write below must
 * be a compile error; if one compiles, its `@ts-expect-error` is unused and typecheck fails.
 * test/plan.test.ts proves the same at run time on a frozen Config.
 */
import type { Config } from '../src/core/config.js'
import type { Plan } from '../src/plan.js'

export function writesIntoConfig(config: Config): void {
  // @ts-expect-error preflight returns the resolved base in the plan instead
  config.baseModelDir = '/elsewhere'
  // @ts-expect-error the budgets are the inputs' own
  config.budgets.push({ target: 'mlx', bytes: 1, text: 'mlx=1B' })
  // @ts-expect-error GGUF files are named once, by readInputs
  if (config.gguf) config.gguf.stem = 'other'
  // @ts-expect-error nor are the types changed after parsing
  config.gguf?.types.push('Q4_0')
  // @ts-expect-error the upload settings too
  config.upload.upload = true
}

export function writesIntoPlan(plan: Plan): void {
  // @ts-expect-error the base every step reads
  plan.base = { ...plan.base, dir: '/elsewhere' }
  // @ts-expect-error its folder
  plan.base.dir = '/elsewhere'
  // @ts-expect-error the MLX stage's plan
  plan.mlx.keepFullPrecision = false
  // @ts-expect-error the fuse it runs
  plan.mlx.fuse.model = '/elsewhere'
  // @ts-expect-error the GGUF stage's types
  plan.gguf?.types.push('Q4_0')
  // @ts-expect-error the budgets as resolved
  plan.budgets.push({ target: 'mlx', bytes: 1, text: 'mlx=1B' })
}
