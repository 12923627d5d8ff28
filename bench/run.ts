/** `npm run bench`: speed figures and ratios (speed targets live here, not in timed tests). */
import { benchChecksum } from './checksum.js'
import { benchGgufHeader, ggufBenchTools } from './gguf-header.js'
import { benchMeasure } from './measure.js'
import { runBench } from './refuse.js'
import { benchUpload } from './upload.js'

await runBench(async () => {
  // every prerequisite first, so a missing one stops the bench before minutes of work
  const tools = await ggufBenchTools()
  await benchMeasure()
  await benchGgufHeader(tools)
  await benchChecksum()
  await benchUpload()
})
