export const id = 547;
export const ids = [547];
export const modules = {

/***/ 32207:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   Dn: () => (/* binding */ partialPath),
/* harmony export */   F9: () => (/* binding */ HttpStatusError),
/* harmony export */   RG: () => (/* binding */ download),
/* harmony export */   aE: () => (/* binding */ placeLink),
/* harmony export */   ax: () => (/* binding */ DownloadSizeError),
/* harmony export */   ny: () => (/* binding */ DownloadCutError),
/* harmony export */   u6: () => (/* binding */ networkCause),
/* harmony export */   x3: () => (/* binding */ writeText)
/* harmony export */ });
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(73024);
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_fs__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(76760);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_1___default = /*#__PURE__*/__webpack_require__.n(node_path__WEBPACK_IMPORTED_MODULE_1__);
/* harmony import */ var _workspace_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(28742);
/**
 * A file fetched over HTTP into a cache: written to `<file>.incomplete`, resumed after a cut with
 * its own `Range: bytes=<have>-` request (a partial file an earlier run left is resumed too),
 * retried with exponential backoff, renamed into place only when it has exactly the expected
 * size; plus the links and small files around it. (@huggingface/hub 2.17.5 streams each file in
 * one request, src/lib/download-file-to-cache-dir.ts, and starts over after any error.)
 */



/** The server answered with an HTTP error status (not retried unless 408, 429 or 5xx). */
class HttpStatusError extends Error {
    status;
    body;
    constructor(status, body) {
        super(`HTTP ${status}: ${body}`);
        this.status = status;
        this.body = body;
    }
}
/** The connection failed `attempts` times in a row without progress. */
class DownloadCutError extends Error {
    attempts;
    have;
    answered;
    cause;
    constructor(attempts, have, 
    /** Whether any attempt got an answer (then the body was cut), else none reached the server. */
    answered, cause) {
        super(`cut off ${attempts} times at ${have} bytes`);
        this.attempts = attempts;
        this.have = have;
        this.answered = answered;
        this.cause = cause;
    }
}
/** A complete answer whose length is not the expected size; the partial file is removed. */
class DownloadSizeError extends Error {
    got;
    expected;
    constructor(got, expected) {
        super(`got ${got} bytes where ${expected} were expected`);
        this.got = got;
        this.expected = expected;
    }
}
const MAX_DELAY_MS = 60_000;
function partialPath(file) {
    return `${file}.incomplete`;
}
async function download(d) {
    const partial = partialPath(d.file);
    await node_fs__WEBPACK_IMPORTED_MODULE_0__.promises.mkdir(node_path__WEBPACK_IMPORTED_MODULE_1___default().dirname(d.file), { recursive: true });
    let failures = 0;
    let answered = false;
    let have = await sizeOf(partial);
    for (;;) {
        if (have > d.bytes) {
            await (0,_workspace_js__WEBPACK_IMPORTED_MODULE_2__/* .removeTree */ .dM)(partial);
            have = 0;
        }
        const before = have;
        try {
            answered = (await transfer(d, partial, have)) || answered;
            const got = await sizeOf(partial);
            if (got !== d.bytes) {
                await (0,_workspace_js__WEBPACK_IMPORTED_MODULE_2__/* .discard */ .vf)(partial);
                throw new DownloadSizeError(got, d.bytes);
            }
            await node_fs__WEBPACK_IMPORTED_MODULE_0__.promises.rename(partial, d.file);
            return;
        }
        catch (error) {
            if (error instanceof RetryableError)
                answered = answered || error.answered;
            else
                throw error;
            have = await sizeOf(partial);
            failures = have > before ? 1 : failures + 1;
            if (failures >= d.attempts)
                throw new DownloadCutError(failures, have, answered, error.cause);
            const delayMs = Math.min(d.delayMs * 2 ** (failures - 1), MAX_DELAY_MS);
            d.onRetry?.({ attempt: failures, have, delayMs, why: networkCause(error.cause) });
            await new Promise(resolve => setTimeout(resolve, delayMs));
        }
    }
}
class RetryableError extends Error {
    cause;
    answered;
    constructor(cause, answered) {
        super(networkCause(cause));
        this.cause = cause;
        this.answered = answered;
    }
}
/**
 * One request from byte `have`; appends what arrives (each chunk written before the next is
 * read, so after a cut the partial file holds every byte received). True once the server
 * answered; a network fault or a retryable status is thrown as a RetryableError.
 */
async function transfer(d, partial, have) {
    let res;
    try {
        res = await d.fetch(d.url, { headers: have > 0 ? { Range: `bytes=${have}-` } : {} });
    }
    catch (error) {
        throw new RetryableError(error, false);
    }
    if (res.status === 416 && have === d.bytes) {
        await res.body?.cancel();
        return true; // the partial file is already whole
    }
    if (!res.ok) {
        const body = (await res.text().catch(() => '')).slice(0, 500);
        const status = new HttpStatusError(res.status, body);
        if (res.status === 408 || res.status === 429 || res.status >= 500) {
            throw new RetryableError(status, true);
        }
        throw status;
    }
    // 206 from our offset: append; anything else is the whole file again: start over.
    const from = /^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '');
    const append = res.status === 206 && from !== null && Number(from[1]) === have;
    if (res.status === 206 && !append) {
        await res.body?.cancel();
        await (0,_workspace_js__WEBPACK_IMPORTED_MODULE_2__/* .discard */ .vf)(partial);
        throw new RetryableError(new Error(`the server answered another range than bytes=${have}-`), true);
    }
    const out = await node_fs__WEBPACK_IMPORTED_MODULE_0__.promises.open(partial, append ? 'a' : 'w');
    let written = append ? have : 0;
    try {
        if (!res.body)
            return true;
        const reader = res.body.getReader();
        for (;;) {
            const chunk = await reader.read().catch((error) => {
                throw new RetryableError(error, true);
            });
            if (chunk.done)
                return true;
            written += chunk.value.length;
            await out.write(chunk.value);
            if (written > d.bytes) {
                await reader.cancel();
                return true; // longer than expected: the size check refuses it
            }
        }
    }
    finally {
        await out.close();
    }
}
async function sizeOf(file) {
    return (await node_fs__WEBPACK_IMPORTED_MODULE_0__.promises.stat(file).catch(() => null))?.size ?? 0;
}
/** A network error's cause in one phrase (`UND_ERR_SOCKET: other side closed`), else its message. */
function networkCause(error) {
    const cause = error?.cause;
    return ([cause?.code, cause?.message].filter(Boolean).join(': ') ||
        (error?.message ?? String(error)));
}
/** A relative symbolic link at `link` to `target` (replacing a link there), as huggingface_hub makes. */
async function placeLink(target, link) {
    await node_fs__WEBPACK_IMPORTED_MODULE_0__.promises.mkdir(node_path__WEBPACK_IMPORTED_MODULE_1___default().dirname(link), { recursive: true });
    await (0,_workspace_js__WEBPACK_IMPORTED_MODULE_2__/* .removeTree */ .dM)(link);
    await node_fs__WEBPACK_IMPORTED_MODULE_0__.promises.symlink(node_path__WEBPACK_IMPORTED_MODULE_1___default().relative(node_path__WEBPACK_IMPORTED_MODULE_1___default().dirname(link), target), link);
}
/** Writes a small text file (a cache ref), making its folder. */
async function writeText(file, text) {
    await node_fs__WEBPACK_IMPORTED_MODULE_0__.promises.mkdir(node_path__WEBPACK_IMPORTED_MODULE_1___default().dirname(file), { recursive: true });
    await node_fs__WEBPACK_IMPORTED_MODULE_0__.promises.writeFile(file, text);
}


/***/ }),

/***/ 55547:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  publishHubStep: () => (/* binding */ publishHubStep)
});

// UNUSED EXPORTS: publishToHub, reportHub

// EXTERNAL MODULE: ./node_modules/@actions/core/lib/core.js + 7 modules
var core = __webpack_require__(33838);
// EXTERNAL MODULE: external "node:fs/promises"
var promises_ = __webpack_require__(51455);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(76760);
var external_node_path_default = /*#__PURE__*/__webpack_require__.n(external_node_path_);
// EXTERNAL MODULE: ./src/core/checksum.ts
var checksum = __webpack_require__(61688);
// EXTERNAL MODULE: ./src/core/constants.ts
var constants = __webpack_require__(26214);
// EXTERNAL MODULE: ./src/core/download.ts
var download = __webpack_require__(32207);
// EXTERNAL MODULE: ./src/core/folders.ts
var folders = __webpack_require__(73102);
// EXTERNAL MODULE: ./src/core/redact.ts
var redact = __webpack_require__(12258);
// EXTERNAL MODULE: ./src/core/size.ts
var core_size = __webpack_require__(53910);
// EXTERNAL MODULE: ./src/core/html.ts
var html = __webpack_require__(21402);
;// CONCATENATED MODULE: ./src/hub-publish/license.ts
/** The base model's license, as its own model card's front matter (or config) names it. */


/**
 * The `license:` of the base's README.md front matter (the Hub's model card metadata,
 * huggingface_hub v0.30.0 src/huggingface_hub/repocard_data.py `ModelCardData.license`), else a
 * `license` string in config.json; null when neither names one, or the value is not an id.
 */
async function baseLicense(dir) {
    const card = await (0,promises_.readFile)(external_node_path_default().join(dir, 'README.md'), 'utf8').catch(() => '');
    const front = /^---\r?\n([^]*?)\r?\n---/.exec(card)?.[1] ?? '';
    const fromCard = /^license:[ \t]*["']?([^"'\r\n#]+?)["']?[ \t]*$/m.exec(front)?.[1];
    if (fromCard && isLicenseId(fromCard))
        return fromCard;
    const config = await (0,promises_.readFile)(external_node_path_default().join(dir, 'config.json'), 'utf8').catch(() => '{}');
    let license = null;
    try {
        license = JSON.parse(config).license;
    }
    catch {
        return null;
    }
    return typeof license === 'string' && isLicenseId(license) ? license : null;
}
/** Hub license ids: `apache-2.0`, `llama3.2`, `other`, `cc-by-nc-4.0`… */
function isLicenseId(text) {
    return /^[\w.+-]{1,64}$/.test(text);
}

;// CONCATENATED MODULE: ./src/hub-publish/card.ts
/**
 * The model card: a README.md for the Hub made from the manifest alone (plus the adapters'
 * checksums and the base's license), so it says exactly what the run measured. Written beside the
 * model folder as `<output-dir>.README.md`: mlx-lm writes its own README.md inside the folder, and
 * a card cannot list the checksum of the folder that holds it.
 */


/** The card's text: YAML front matter the Hub reads, then the measured facts. */
function modelCard(f) {
    const m = f.manifest;
    const hasMlx = f.outputs.some(o => o.kind === 'mlx');
    const hasGguf = f.outputs.some(o => o.kind === 'gguf');
    const baseRepo = m.baseModelSource?.repo ?? null;
    const front = [
        '---',
        ...(hasMlx ? ['library_name: mlx'] : []),
        ...(baseRepo ? [`base_model: ${yamlString(baseRepo)}`] : []),
        ...(f.license ? [`license: ${yamlString(f.license)}`] : []),
        'tags:',
        ...(hasMlx ? ['- mlx'] : []),
        ...(hasGguf ? ['- gguf'] : []),
        '- lora',
        '- mlx-fuse-action',
        '---'
    ];
    const base = baseRepo
        ? `[${md(baseRepo)}](https://huggingface.co/${baseRepo}) at commit \`${m.baseModelSource?.commit ?? ''}\``
        : `a local base model (${code(external_node_path_default().basename(m.baseModel))})`;
    return [
        ...front,
        '',
        `# ${md(external_node_path_default().basename(m.folders.outputDir))}`,
        '',
        `LoRA adapters fused into ${base} with mlx-lm ${md(m.mlxLm.version)}` +
            (hasGguf && m.llamaCpp
                ? `, converted to GGUF with llama.cpp ${md(m.llamaCpp.version)} (\`${m.llamaCpp.commit.slice(0, 12)}\`)`
                : '') +
            ', by mlx-fuse-action. Every size below is measured from the files themselves: kB/MB/GB are powers of 1000, KiB/MiB/GiB powers of 1024.',
        '',
        '## Files',
        '',
        '| Output | Format | Size | Bits per weight | Budget | Verdict |',
        '|---|---|---|---|---|---|',
        ...f.outputs.map(row),
        '',
        ...checksums(f.outputs),
        '## How it was made',
        '',
        ...made(f),
        ...(m.diagnoses.length > 0
            ? ['', '## Findings', '', ...m.diagnoses.map(d => `- **${md(d.title)}.** ${md(d.text)}`)]
            : []),
        ''
    ].join('\n');
}
function row(o) {
    const budget = o.budget ? `${(0,core_size/* formatSize */.Xq)(o.budgetBytes ?? 0)} (${code(o.budget)})` : '—';
    const verdict = o.status === 'within' ? 'within budget' : o.status === 'over' ? 'over budget' : 'no budget';
    const bpw = o.bitsPerWeight === null ? '—' : o.bitsPerWeight.toFixed(2);
    return `| ${code(o.name)} | ${md(o.format)} | ${(0,core_size/* formatSize */.Xq)(o.bytes)} (${o.bytes.toLocaleString('en-US')} bytes) | ${bpw} | ${budget} | ${verdict} |`;
}
/** `sha256sum -c` lines for every file, in the repository's own layout. */
function checksums(outputs) {
    const lines = [];
    for (const o of outputs) {
        if (o.kind === 'mlx') {
            // The folder's own README.md (mlx-lm's) is not published: this card takes its place.
            for (const [file, sum] of Object.entries(o.sha256Files ?? {}).sort())
                if (file !== 'README.md')
                    lines.push(`${sum}  ${file}`);
        }
        else if (o.shards) {
            for (const s of o.shards)
                lines.push(`${s.sha256}  ${external_node_path_default().basename(s.path)}`);
        }
        else if (o.sha256) {
            lines.push(`${o.sha256}  ${external_node_path_default().basename(o.path)}`);
        }
    }
    if (lines.length === 0)
        return [];
    return [
        'SHA-256 of every file (`sha256sum -c` reads these lines):',
        '',
        '```',
        ...lines,
        '```',
        ''
    ];
}
function made(f) {
    const m = f.manifest;
    const a = m.fuse.adapters;
    const fuse = m.fuse.dequantize
        ? m.fuse.quantizeBits
            ? `de-quantized, then re-quantized to ${m.fuse.quantizeBits} bits (group ${m.fuse.quantizeGroupSize})`
            : 'de-quantized (16-bit)'
        : "keeping the base's precision";
    const gguf = m.gguf;
    return [
        `- Adapters: ${md(a.fineTuneType ?? 'lora')}${a.rank !== undefined ? `, rank ${a.rank}` : ''}${a.scale !== undefined ? `, scale ${a.scale}` : ''}${a.numLayers !== undefined ? `, ${a.numLayers} layers` : ''}`,
        ...Object.entries(f.adapterSums)
            .sort()
            .map(([file, sum]) => `  - ${code(file)} sha256 \`${sum}\``),
        `- Fuse: \`mlx_lm fuse\`, ${fuse}`,
        ...(gguf?.types ? [`- GGUF types: ${gguf.types.map(t => `${code(t)}`).join(', ')}`] : []),
        `- Size budgets: ${budgets(m)}`,
        `- Tools: mlx-lm ${md(m.mlxLm.version)}${m.llamaCpp ? `, llama.cpp ${md(m.llamaCpp.version)} (\`${m.llamaCpp.commit}\`)` : ''}`,
        ...(m.runCommit ? [`- Source commit: \`${m.runCommit}\``] : []),
        ...(f.runUrl ? [`- Workflow run: ${f.runUrl}`] : [])
    ];
}
function budgets(m) {
    if (m.outputs.every(o => o.status === 'no-budget'))
        return 'none set';
    if (m.withinBudget)
        return 'every budgeted output within its budget';
    return `not every output within its budget (on-over-budget: ${m.onOverBudget})`;
}
/** A YAML double-quoted scalar (JSON's string syntax is valid YAML). */
function yamlString(text) {
    return JSON.stringify(text);
}
/** Text from files or tools made inert in Markdown: no tags, table cells or code spans broken. */
function md(text) {
    return text.replace(/[\\`*_[\]<>|]/g, c => `\\${c}`).replace(/[\r\n]+/g, ' ');
}
/** A code span of text from files or tools: backticks and line breaks cannot end or break it. */
function code(text) {
    return `\`${text.replace(/`/g, "'").replace(/[\r\n]+/g, ' ')}\``;
}

// EXTERNAL MODULE: ./node_modules/@huggingface/hub/dist/index.mjs + 16 modules
var dist = __webpack_require__(1429);
// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(77598);
// EXTERNAL MODULE: external "node:url"
var external_node_url_ = __webpack_require__(73136);
// EXTERNAL MODULE: ./src/core/log.ts
var log = __webpack_require__(44325);
// EXTERNAL MODULE: ./src/core/types.ts
var types = __webpack_require__(73054);
;// CONCATENATED MODULE: ./src/hub-publish/commit.ts
/**
 * One commit of files to one Hub repository with @huggingface/hub: the repository and branch made
 * when missing, nothing sent when the revision already holds every file with the same hash, files
 * read lazily from disk (file: URLs), progress lines for large files. The client uses Xet where the
 * server offers it (`useXet`, its default) and the plain LFS transfers otherwise.
 */







/** Files of at least this size get progress lines every quarter. */
const PROGRESS_BYTES = 64 * 1024 * 1024;
async function commitFiles(target, files, title, description, client) {
    const { repo, revision } = target;
    const common = {
        hubUrl: client.endpoint,
        fetch: client.fetch,
        accessToken: client.token ?? undefined
    };
    if (!client.token) {
        throw new types/* ActionError */.l({
            problem: `Publishing to ${target.input} "${repo}" needs a Hugging Face token with write access`,
            fix: `set hf-token (or HF_TOKEN) to one`
        });
    }
    const head = await call(target, () => ensureRevision(target, common));
    const bytes = files.reduce((n, f) => n + f.bytes, 0);
    if (head && (await call(target, () => holdsAll(target, files, common)))) {
        log/* info */.pq(`${target.input} ${repo}@${revision} already holds these ${files.length} files; no commit.`);
        return {
            repo,
            revision,
            commitUrl: `${client.endpoint}/${repo}/commit/${head}`,
            unchanged: true,
            files: files.length,
            bytes
        };
    }
    const operations = files.map(f => ({
        operation: 'addOrUpdate',
        path: f.path,
        content: (0,external_node_url_.pathToFileURL)(f.source)
    }));
    log/* info */.pq(`Committing ${files.length} files (${(0,core_size/* formatSize */.Xq)(bytes)}) to ${repo}@${revision}.`);
    const sizes = new Map(files.map(f => [f.path, f.bytes]));
    const shown = new Map();
    const iter = (0,dist/* commitIter */.w8)({
        ...common,
        repo: { type: 'model', name: repo },
        branch: revision,
        title,
        description,
        operations
    });
    const output = await call(target, async () => {
        for (;;) {
            const step = await iter.next();
            if (step.done)
                return step.value;
            const e = step.value;
            if (e.event !== 'fileProgress' || e.state !== 'uploading')
                continue;
            const size = sizes.get(e.path) ?? 0;
            const quarter = Math.floor(e.progress * 4);
            if (size >= PROGRESS_BYTES && quarter > (shown.get(e.path) ?? 0)) {
                shown.set(e.path, quarter);
                log/* info */.pq(`Uploading ${e.path}: ${quarter * 25} % of ${(0,core_size/* formatSize */.Xq)(size)}`);
            }
        }
    });
    return {
        repo,
        revision,
        commitUrl: output?.commit.url ?? null,
        unchanged: false,
        files: files.length,
        bytes
    };
}
/** The revision's head commit, after making the repository or branch when missing (null then). */
async function ensureRevision(target, common) {
    const { repo, revision } = target;
    try {
        const info = (await (0,dist/* modelInfo */.gi)({
            ...common,
            name: repo,
            revision,
            additionalFields: ['sha']
        }));
        return info.sha ?? null;
    }
    catch (error) {
        const code = error instanceof dist/* HubApiError */.yL ? error.statusCode : 0;
        if (code !== 404)
            throw error;
        const missing = error instanceof dist/* HubApiError */.yL ? String(error.data?.error ?? error.message) : '';
        if (!/revision/i.test(missing)) {
            await (0,dist/* createRepo */.Td)({
                ...common,
                accessToken: common.accessToken,
                repo: { type: 'model', name: repo },
                private: target.private
            }).catch((e) => {
                // Another run made it meanwhile, or the token cannot see it: the next call says which.
                if (!(e instanceof dist/* HubApiError */.yL && e.statusCode === 409))
                    throw e;
            });
            log/* info */.pq(`Created the ${target.private ? 'private' : 'public'} Hub repository ${repo}.`);
        }
        if (revision !== 'main') {
            await (0,dist/* createBranch */.lY)({
                ...common,
                repo: { type: 'model', name: repo },
                branch: revision
            }).catch((e) => {
                if (!(e instanceof dist/* HubApiError */.yL && e.statusCode === 409))
                    throw e;
            });
            log/* info */.pq(`Created the branch ${revision} of ${repo} from main.`);
        }
        return null;
    }
}
/** True when the revision has every file at its path with the same content (LFS sha256 or git blob). */
async function holdsAll(target, files, common) {
    const remote = new Map();
    for await (const entry of (0,dist/* listFiles */.CS)({
        ...common,
        repo: { type: 'model', name: target.repo },
        revision: target.revision,
        recursive: true
    })) {
        if (entry.type === 'file')
            remote.set(entry.path, entry);
    }
    for (const f of files) {
        const r = remote.get(f.path);
        if (!r || r.size !== f.bytes)
            return false;
        if (r.lfs) {
            if (r.lfs.oid !== f.sha256)
                return false;
        }
        else if (r.oid !== (await gitBlobSha1(f.source))) {
            return false;
        }
    }
    return true;
}
/** A small (non-LFS) file's git object id: sha1 of `blob <size>\0` and its bytes. */
async function gitBlobSha1(file) {
    const data = await (0,promises_.readFile)(file);
    return (0,external_node_crypto_.createHash)('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');
}
/** Runs a Hub call, turning its errors into one sentence that names the input and the fix. */
async function call(target, fn) {
    try {
        return await fn();
    }
    catch (error) {
        throw hubError(target, error);
    }
}
function hubError(target, error) {
    if (error instanceof types/* ActionError */.l)
        return error;
    const where = `${target.input} "${target.repo}"`;
    const rerun = 'nothing was committed, so the revision is unchanged: run the job again (files the Hub already has are not sent again)';
    if (error instanceof dist/* HubApiError */.yL) {
        if (error.statusCode === 401) {
            return new types/* ActionError */.l({
                problem: `The Hub refused hf-token for ${where} (HTTP 401: invalid or expired)`,
                fix: `set hf-token (or HF_TOKEN) to a valid token with write access`
            });
        }
        if (error.statusCode === 403) {
            return new types/* ActionError */.l({
                problem: `The Hub refused to let this token write to ${where} (HTTP 403)`,
                fix: `give hf-token a token with write access (a fine-grained token needs write access to this repository, or to create repositories in its namespace)`
            });
        }
        return new types/* ActionError */.l({
            problem: `Publishing to ${where} failed (HTTP ${error.statusCode}: ${log/* logSafe */.sN(oneLine(error.message))})`,
            fix: `${rerun}`
        });
    }
    return new types/* ActionError */.l({
        problem: `Publishing to ${where} failed (${log/* logSafe */.sN(oneLine(String(error?.message ?? error)))})`,
        fix: `${rerun}`
    });
}
function oneLine(text) {
    const line = text.split('\n')[0].trim();
    return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

;// CONCATENATED MODULE: ./src/hub-publish/index.ts
/**
 * The Hub step of run(), after the artifacts: the model card written beside the model folder,
 * then one commit per repository (hub-repo; hub-repo-gguf for the GGUF files when set), never an
 * output over its budget unless upload-over-budget. A failure fails the step with its one sentence
 * after the summary rows are written; it is not thrown, so the size report above it stays.
 * Loaded with import() only when hub-repo is set: the Hub client stays off the start-up path.
 */













/** The Hub step as run() calls it: the manifest just written, the Hub settings as for the base. */
async function publishHubStep(config, baseDir) {
    if (!config.hub)
        return null;
    const { hubSettings } = await __webpack_require__.e(/* import() */ 715).then(__webpack_require__.bind(__webpack_require__, 92096));
    const settings = await hubSettings(config.hfToken);
    const manifest = JSON.parse(await (0,promises_.readFile)(config.manifestPath, 'utf8'));
    const report = await publishToHub({
        config: config.hub,
        manifest,
        adapterPath: config.adapterPath,
        baseDir,
        uploadOverBudget: config.upload.uploadOverBudget,
        client: { endpoint: settings.endpoint, token: settings.token }
    });
    await reportHub(report);
    return report;
}
async function publishToHub(req) {
    const { config, manifest } = req;
    const held = manifest.outputs
        .filter(o => o.status === 'over' && !req.uploadOverBudget)
        .map(o => ({ output: o.name, reason: 'over its size budget (upload-over-budget: false)' }));
    const sent = manifest.outputs.filter(o => !held.some(h => h.output === o.name));
    const groups = config.ggufRepo
        ? [
            { repo: config.repo, input: constants/* Inputs */.G.HubRepo, outputs: sent.filter(o => o.kind === 'mlx') },
            {
                repo: config.ggufRepo,
                input: constants/* Inputs */.G.HubRepoGguf,
                outputs: sent.filter(o => o.kind === 'gguf')
            }
        ]
        : [{ repo: config.repo, input: constants/* Inputs */.G.HubRepo, outputs: sent }];
    const adapterSums = await adapterChecksums(req.adapterPath);
    const license = req.baseDir ? await baseLicense(req.baseDir) : null;
    const runUrl = workflowRunUrl();
    const card = `${manifest.folders.outputDir}.README.md`;
    const report = { status: 'published', card, commits: [], held };
    try {
        for (const group of groups) {
            if (group.outputs.length === 0)
                continue;
            const text = modelCard({ manifest, outputs: group.outputs, license, adapterSums, runUrl });
            const cardFile = group.repo === config.repo
                ? card
                : `${manifest.folders.outputDir}.${group.outputs[0].kind}.README.md`;
            await (0,download/* writeText */.x3)(cardFile, text);
            const files = [
                ...(await filesOf(group.outputs)),
                {
                    path: 'README.md',
                    source: cardFile,
                    bytes: Buffer.byteLength(text),
                    sha256: (await (0,checksum/* sha256File */.Q)(cardFile)).sha256
                }
            ];
            const target = {
                repo: group.repo,
                revision: config.revision,
                private: config.private,
                input: group.input
            };
            report.commits.push(await commitFiles(target, files, commitTitle(manifest), commitDescription(manifest, runUrl), req.client));
        }
    }
    catch (error) {
        report.status = 'failed';
        report.error = hubError({
            repo: config.repo,
            revision: config.revision,
            private: config.private,
            input: constants/* Inputs */.G.HubRepo
        }, error).message;
    }
    return report;
}
/** The step's outputs and summary rows for the Hub; a failure fails the step after them. */
async function reportHub(report) {
    // hub-repo's commit comes first (the GGUF repository's, when separate, after it).
    core/* setOutput */.uH(constants/* Outputs */.t.HubCommitUrl, report.commits[0]?.commitUrl ?? '');
    const s = core/* summary */.z.addHeading('Hugging Face Hub', 3);
    const rows = report.commits.map(c => [
        { data: `<code>${(0,html/* html */.q)(c.repo)}</code>@<code>${(0,html/* html */.q)(c.revision)}</code>` },
        {
            data: c.commitUrl
                ? `<a href="${(0,html/* htmlAttribute */._)(c.commitUrl)}">${c.unchanged ? 'unchanged' : 'commit'}</a>`
                : '—'
        },
        { data: `${c.files} files, ${(0,core_size/* formatSize */.Xq)(c.bytes)}` }
    ]);
    if (rows.length > 0) {
        s.addTable([
            [
                { data: 'Repository', header: true },
                { data: 'Commit', header: true },
                { data: 'Files', header: true }
            ],
            ...rows
        ]);
    }
    for (const h of report.held)
        s.addRaw(`<p>Not sent: <code>${(0,html/* html */.q)(h.output)}</code>, ${(0,html/* html */.q)(h.reason)}.</p>`, true);
    s.addRaw(`<p>Model card: <code>${(0,html/* html */.q)(report.card)}</code></p>`, true);
    if (report.error)
        s.addRaw(`<p>❌ ${(0,html/* html */.q)(report.error)}</p>`, true);
    await s.write();
    if (report.error)
        core/* setFailed */.C1((0,redact/* redact */.E)(report.error));
}
/** Each output's files at their place in the repository: the MLX folder's files at its root. */
async function filesOf(outputs) {
    const files = [];
    for (const o of outputs) {
        if (o.kind === 'mlx') {
            for (const [file, sha256] of Object.entries(o.sha256Files ?? {}).sort()) {
                // mlx-lm writes its own README.md into the folder; the card takes its place.
                if (file === 'README.md')
                    continue;
                const source = external_node_path_default().join(o.path, file);
                files.push({ path: file, source, bytes: (await (0,promises_.stat)(source)).size, sha256 });
            }
        }
        else if (o.shards) {
            for (const s of o.shards)
                files.push({
                    path: external_node_path_default().basename(s.path),
                    source: s.path,
                    bytes: s.bytes,
                    sha256: s.sha256
                });
        }
        else {
            files.push({
                path: external_node_path_default().basename(o.path),
                source: o.path,
                bytes: o.bytes,
                sha256: o.sha256 ?? ''
            });
        }
    }
    return files;
}
async function adapterChecksums(dir) {
    const sums = {};
    for (const name of ['adapter_config.json', 'adapters.safetensors']) {
        const file = external_node_path_default().join(dir, name);
        if (await (0,folders/* exists */.t2)(file))
            sums[name] = (await (0,checksum/* sha256File */.Q)(file)).sha256;
    }
    return sums;
}
/** `<server>/<repository>/actions/runs/<id>`, or null outside GitHub Actions. */
function workflowRunUrl(env = process.env) {
    const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repo, GITHUB_RUN_ID: id } = env;
    return server && repo && id ? `${server}/${repo}/actions/runs/${id}` : null;
}
function commitTitle(m) {
    const run = process.env.GITHUB_RUN_ID;
    const where = run ? ` from workflow run ${run}` : '';
    const commit = m.runCommit ? ` (${m.runCommit.slice(0, 12)})` : '';
    return `Upload ${external_node_path_default().basename(m.folders.outputDir)}${where}${commit} with mlx-fuse-action`;
}
function commitDescription(m, runUrl) {
    return [
        runUrl ? `Workflow run: ${runUrl}` : null,
        m.runCommit ? `Source commit: ${m.runCommit}` : null,
        `Outputs: ${m.outputs.map(o => `${o.name} ${(0,core_size/* formatSize */.Xq)(o.bytes)}`).join(', ')}`
    ]
        .filter(Boolean)
        .join('\n');
}


/***/ })

};

//# sourceMappingURL=547.index.js.map