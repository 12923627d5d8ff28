/** `npm run bench`: speed figures and ratios (speed targets live here, not in timed tests). */
import { benchGgufHeader } from './gguf-header.js'
import { benchMeasure } from './measure.js'

await benchMeasure()
await benchGgufHeader()
