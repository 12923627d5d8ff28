export const id = 45;
export const ids = [45];
export const modules = {

/***/ 62045:
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
// EXTERNAL MODULE: ./src/core/redact.ts
var redact = __webpack_require__(12258);
// EXTERNAL MODULE: ./src/core/size.ts
var core_size = __webpack_require__(53910);
// EXTERNAL MODULE: ./src/core/html.ts
var html = __webpack_require__(21402);
// EXTERNAL MODULE: ./src/hub-publish/card-file.ts + 2 modules
var card_file = __webpack_require__(90756);
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
 * The Hub step of run(), after the artifacts: the run's model card (written beside the model folder
 * before the artifacts, card-file.ts) as README.md, one commit per repository (hub-repo; hub-repo-gguf for the GGUF files when set), never an
 * output over its budget unless upload-over-budget. A failure fails the step with its one sentence
 * after the summary rows are written; it is not thrown, so the size report above it stays.
 * Loaded with import() only when hub-repo is set: the Hub client stays off the start-up path.
 */










/** The Hub step as run() calls it: the manifest just written, the Hub settings as for the base. */
async function publishHubStep(config, baseDir) {
    if (!config.hub)
        return null;
    const { hubSettings } = await __webpack_require__.e(/* import() */ 96).then(__webpack_require__.bind(__webpack_require__, 92096));
    const settings = await hubSettings(config.hfToken);
    const manifest = JSON.parse(await (0,promises_.readFile)(config.manifestPath, 'utf8'));
    const report = await publishToHub({
        config: config.hub,
        manifest,
        adapterPath: config.adapterPath,
        baseDir,
        uploadOverBudget: config.upload.uploadOverBudget,
        cardWritten: true,
        client: { endpoint: settings.endpoint, token: settings.token }
    });
    await reportHub(report);
    return report;
}
async function publishToHub(req) {
    const { config, manifest } = req;
    const { sent, held: over } = (0,card_file/* sentOutputs */.t5)(manifest, req.uploadOverBudget);
    const held = over.map(o => ({
        output: o.name,
        reason: 'over its size budget (upload-over-budget: false)'
    }));
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
    const context = await (0,card_file/* cardContext */.QK)(manifest, req.adapterPath, req.baseDir);
    const runUrl = context.runUrl;
    const card = (0,card_file/* runCardPath */.nS)(manifest.folders.outputDir);
    const report = { status: 'published', card, commits: [], held };
    try {
        for (const group of groups) {
            if (group.outputs.length === 0)
                continue;
            // One repository: the run's card, as the artifacts carry it. Two: each its own card, in
            // files of their own, so the run's card keeps the bytes its checksum was taken of.
            const cardFile = config.ggufRepo
                ? `${manifest.folders.outputDir}.${group.outputs[0].kind}.README.md`
                : card;
            if (config.ggufRepo || !req.cardWritten)
                await (0,card_file/* writeCard */.cM)(cardFile, context, group.outputs);
            const files = [
                ...(await filesOf(group.outputs)),
                {
                    path: 'README.md',
                    source: cardFile,
                    bytes: (await (0,promises_.stat)(cardFile)).size,
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

//# sourceMappingURL=45.index.js.map