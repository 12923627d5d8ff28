/**
 * `npm run bench`: speed figures and ratios (speed targets live here, not in timed tests).
 * `npm run bench -- startup measure` runs only the named benches.
 */
import { benchChecksum } from './checksum.js'
import { benchGgufHeader, ggufBenchTools, type GgufBenchTools } from './gguf-header.js'
import { benchMeasure } from './measure.js'
import { benchQuality } from './quality.js'
import { runBench } from './refuse.js'
import { benchStartup } from './startup.js'
import { benchToolchainCache } from './toolchain-cache.js'
import { benchUpload } from './upload.js'

const BENCHES: Record<string, (tools: GgufBenchTools | null) => Promise<void>> = {
  startup: benchStartup,
  measure: benchMeasure,
  'gguf-header': tools => benchGgufHeader(tools ?? undefined),
  checksum: benchChecksum,
  upload: benchUpload,
  'toolchain-cache': benchToolchainCache,
  quality: () => benchQuality()
}

const asked = process.argv.slice(2)
const unknown = asked.filter(name => !(name in BENCHES))
if (unknown.length > 0) {
  console.error(
    `Unknown bench ${unknown.map(n => JSON.stringify(n)).join(', ')}; name some of ${Object.keys(BENCHES).join(', ')}, or none for all.`
  )
  process.exit(2)
}
const chosen = asked.length > 0 ? asked : Object.keys(BENCHES)
await runBench(async () => {
  // every prerequisite first, so a missing one stops the bench before minutes of work
  const tools = chosen.some(n => n === 'gguf-header' || n === 'toolchain-cache')
    ? await ggufBenchTools()
    : null
  for (const name of chosen) await BENCHES[name](tools)
})
