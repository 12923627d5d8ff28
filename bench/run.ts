/** `npm run bench`: speed figures and ratios (speed targets live here, not in timed tests). */
import { benchChecksum } from './checksum.js'
import { benchGgufHeader } from './gguf-header.js'
import { benchMeasure } from './measure.js'
import { benchUpload } from './upload.js'

await benchMeasure()
await benchGgufHeader()
await benchChecksum()
await benchUpload()
