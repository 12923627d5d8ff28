export const id = 734;
export const ids = [734];
export const modules = {

/***/ 43734:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   UploadError: () => (/* binding */ UploadError),
/* harmony export */   checkArtifactNames: () => (/* binding */ checkArtifactNames),
/* harmony export */   uploadOutputs: () => (/* binding */ uploadOutputs)
/* harmony export */ });
/* unused harmony exports mlxArtifactName, ggufArtifactName, checksumsArtifactName, runAttempt, isGhes, artifactUrl */
/* harmony import */ var _actions_core__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(33838);
/* harmony import */ var _actions_artifact__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(77935);
/* harmony import */ var node_os__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(48161);
/* harmony import */ var node_os__WEBPACK_IMPORTED_MODULE_2___default = /*#__PURE__*/__webpack_require__.n(node_os__WEBPACK_IMPORTED_MODULE_2__);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(76760);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_3___default = /*#__PURE__*/__webpack_require__.n(node_path__WEBPACK_IMPORTED_MODULE_3__);
/* harmony import */ var _core_checksum_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(61688);
/* harmony import */ var _core_workspace_js__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(28742);
/* harmony import */ var _core_scratch_js__WEBPACK_IMPORTED_MODULE_6__ = __webpack_require__(87365);
/* harmony import */ var _core_size_js__WEBPACK_IMPORTED_MODULE_7__ = __webpack_require__(53910);
/* harmony import */ var _core_types_js__WEBPACK_IMPORTED_MODULE_8__ = __webpack_require__(73054);
/* harmony import */ var _budget_index_js__WEBPACK_IMPORTED_MODULE_9__ = __webpack_require__(42955);
/* harmony import */ var _core_log_js__WEBPACK_IMPORTED_MODULE_10__ = __webpack_require__(44325);
/* harmony import */ var _sums_js__WEBPACK_IMPORTED_MODULE_11__ = __webpack_require__(37147);
/**
 * Publishes the measured outputs as workflow artifacts with `@actions/artifact` 6.2.1
 * (actions/toolkit packages/artifact; the Twirp methods in its generated
 * lib/generated/results/api/v1/artifact.js):
 * - `<prefix>-mlx`: one zip at compression level 0 of the model directory plus manifest.json and
 *   SHA256SUMS, staged as a folder of symbolic links (the client zips links through their real
 *   paths: lib/internal/upload/zip.js), so gigabytes are never copied;
 * - `<prefix>-<TYPE>.gguf`: each GGUF file raw (`skipArchive`: the artifact takes the file's
 *   basename, so a link of that name is uploaded); the digest the client returns is the SHA-256
 *   of the bytes it sent, checked against the checksum taken when the file was measured;
 * - `<prefix>-checksums`: SHA256SUMS for every published file, plus manifest.json, the model card
 *   as README.md and the GGUF files' Modelfiles; uploaded even when every output is held back,
 *   since the manifest is the record of what was measured.
 */












/** An upload failed; `uploaded` lists what was published before it. */
class UploadError extends _core_types_js__WEBPACK_IMPORTED_MODULE_8__/* .ActionError */ .l {
    uploaded;
    constructor(parts, uploaded) {
        super(parts);
        this.name = 'UploadError';
        this.uploaded = uploaded;
    }
}
function mlxArtifactName(prefix) {
    return `${prefix}-mlx`;
}
function ggufArtifactName(prefix, type) {
    return `${prefix}-${type}.gguf`;
}
function checksumsArtifactName(prefix) {
    return `${prefix}-checksums`;
}
/**
 * The run attempt (`GITHUB_RUN_ATTEMPT`, 1 for the first run, 2 and up for "Re-run jobs");
 * anything else counts as 1, so the first run's refusal of a taken name is never skipped by mistake.
 */
function runAttempt() {
    const text = process.env.GITHUB_RUN_ATTEMPT ?? '';
    return /^[1-9]\d{0,5}$/.test(text) ? Number(text) : 1;
}
/**
 * Before the first fuse: refuses artifact names this run already has (names are unique per
 * workflow run, every job of a matrix included), so a clash fails in seconds, not after the
 * fuse. `gguf` is the list of GGUF types, or `auto` when the type is chosen later or files may
 * be split into shards (then any `<prefix>-*.gguf` is a clash). Does nothing when upload is false or on GHES (the upload says so).
 *
 * On a re-run (attempt 2 and up) ListArtifacts lists the earlier attempts' artifacts too, with no
 * attempt number, and the service accepts a name again in a new attempt: the names are let
 * through, and the upload reports the artifacts it supersedes (consumers take the newest of a
 * name: the toolkit's get and delete pick the highest id, download-artifact v8 lists with latest).
 */
async function checkArtifactNames(config, plan, client = new _actions_artifact__WEBPACK_IMPORTED_MODULE_1__/* .DefaultArtifactClient */ .t9()) {
    if (!config.upload || isGhes())
        return;
    let existing;
    try {
        existing = (await client.listArtifacts()).artifacts.map(a => a.name);
    }
    catch (error) {
        throw new _core_types_js__WEBPACK_IMPORTED_MODULE_8__/* .ActionError */ .l({
            problem: `Listing this run's artifacts failed (${messageOf(error)})`,
            fix: `uploading needs the GitHub Actions artifact service (ACTIONS_RUNTIME_TOKEN and ACTIONS_RESULTS_URL, set by the runner): run the step in a workflow job, or set upload: false`
        });
    }
    const wanted = [checksumsArtifactName(config.prefix)];
    if (plan.mlx)
        wanted.push(mlxArtifactName(config.prefix));
    if (plan.gguf !== 'auto')
        wanted.push(...plan.gguf.map(t => ggufArtifactName(config.prefix, t)));
    // Compared without case: fail closed if the service treats names case-insensitively.
    const lower = (s) => s.toLowerCase();
    const autoPrefix = lower(`${config.prefix}-`);
    const taken = existing.filter(name => wanted.some(w => lower(w) === lower(name)) ||
        (plan.gguf === 'auto' && lower(name).startsWith(autoPrefix) && lower(name).endsWith('.gguf')));
    if (taken.length > 0 && runAttempt() > 1) {
        _core_log_js__WEBPACK_IMPORTED_MODULE_10__/* .info */ .pq(`This is attempt ${runAttempt()} of the run: ${taken.map(n => JSON.stringify(n)).join(', ')} from an earlier attempt will be superseded by this attempt's uploads.`);
        return;
    }
    if (taken.length > 0) {
        throw new _core_types_js__WEBPACK_IMPORTED_MODULE_8__/* .ActionError */ .l({
            problem: `This workflow run already has ${taken.length === 1 ? 'an artifact' : 'artifacts'} named ${taken.map(n => JSON.stringify(n)).join(', ')} (artifact names are unique per run, across all its jobs and matrix entries)`,
            fix: `give each job or matrix entry a distinct artifact-name, e.g. artifact-name: my-model-\${{ matrix.name }}, or set upload: false`
        });
    }
}
/** Uploads the outputs; throws UploadError (naming what was uploaded) when an upload fails. */
async function uploadOutputs(req, client = new _actions_artifact__WEBPACK_IMPORTED_MODULE_1__/* .DefaultArtifactClient */ .t9()) {
    const outcome = {
        status: 'uploaded',
        artifacts: [],
        held: [],
        removed: [],
        superseded: []
    };
    const { config } = req;
    if (!config.upload) {
        _core_log_js__WEBPACK_IMPORTED_MODULE_10__/* .info */ .pq('upload is false: the outputs stay on the runner only.');
        return { ...outcome, status: 'disabled' };
    }
    if (isGhes()) {
        _actions_core__WEBPACK_IMPORTED_MODULE_0__/* .warning */ .$e(`GitHub Enterprise Server does not support the artifact service this action uses (@actions/artifact 6), so nothing was uploaded; the outputs stay on the runner: ${req.outputs.map(o => o.path).join(', ')}.`);
        return { ...outcome, status: 'ghes' };
    }
    const publish = toPublish(req, outcome);
    await refuseInvalidPaths(publish);
    const earlier = runAttempt() > 1 ? await earlierArtifacts(client) : [];
    const stagingParent = req.stagingDir ?? process.env.RUNNER_TEMP ?? node_os__WEBPACK_IMPORTED_MODULE_2___default().tmpdir();
    const staging = await (0,_core_scratch_js__WEBPACK_IMPORTED_MODULE_6__/* .makeTempFolder */ .Pd)(stagingParent, 'artifacts-');
    const send = sender(client, config, outcome.artifacts);
    try {
        const published = [];
        for (const output of publish) {
            const files = await remeasure(output, outcome.artifacts);
            const sumOf = (file) => {
                const sum = req.checksums.get(file);
                if (!sum)
                    throw new _core_types_js__WEBPACK_IMPORTED_MODULE_8__/* .ActionError */ .l({
                        problem: `No checksum was taken of ${file}`,
                        fix: `this is a bug`
                    });
                return sum;
            };
            if (output.kind === 'mlx') {
                const name = mlxArtifactName(config.prefix);
                const root = node_path__WEBPACK_IMPORTED_MODULE_3___default().join(staging, name);
                const staged = await stageMlx(root, files, req.manifestPath, sumOf);
                await send(name, output.name, staged, root, output.bytes, { compressionLevel: 0 });
                for (const [file, rel] of files)
                    published.push([sumOf(file), `${name}/${rel}`]);
            }
            else {
                // One raw artifact per file: the GGUF file, or each shard of a split type.
                for (const [file, base] of files) {
                    const name = output.shards ? base : ggufArtifactName(config.prefix, output.name);
                    const bytes = output.shards?.find(s => s.path === file)?.bytes ?? output.bytes;
                    const link = node_path__WEBPACK_IMPORTED_MODULE_3___default().join(staging, name);
                    await (0,_core_scratch_js__WEBPACK_IMPORTED_MODULE_6__/* .linkInScratch */ .wV)(file, link);
                    const sent = await send(name, output.name, [link], staging, bytes, { skipArchive: true });
                    const expected = `sha256:${sumOf(file)}`;
                    if (sent.digest !== expected)
                        await refuseMismatch(client, sent, expected, outcome);
                    published.push([sumOf(file), name]);
                }
            }
        }
        // Always, even when every output is held back: the manifest records what was measured.
        const name = checksumsArtifactName(config.prefix);
        const root = node_path__WEBPACK_IMPORTED_MODULE_3___default().join(staging, name);
        await (0,_core_scratch_js__WEBPACK_IMPORTED_MODULE_6__/* .copyIntoScratch */ .Yd)(req.manifestPath, node_path__WEBPACK_IMPORTED_MODULE_3___default().join(root, 'manifest.json'));
        published.push([(await (0,_core_checksum_js__WEBPACK_IMPORTED_MODULE_4__/* .sha256File */ .Q)(req.manifestPath)).sha256, `${name}/manifest.json`]);
        // The GGUF files' Ollama Modelfiles (small text files, named like the files they load) ride
        // with the checksums, so a release step finds them beside SHA256SUMS.
        const extras = [];
        if (req.card) {
            await (0,_core_scratch_js__WEBPACK_IMPORTED_MODULE_6__/* .copyIntoScratch */ .Yd)(req.card, node_path__WEBPACK_IMPORTED_MODULE_3___default().join(root, 'README.md'));
            published.push([(await (0,_core_checksum_js__WEBPACK_IMPORTED_MODULE_4__/* .sha256File */ .Q)(req.card)).sha256, `${name}/README.md`]);
            extras.push(node_path__WEBPACK_IMPORTED_MODULE_3___default().join(root, 'README.md'));
        }
        for (const file of req.extraFiles ?? []) {
            const base = node_path__WEBPACK_IMPORTED_MODULE_3___default().basename(file);
            await (0,_core_scratch_js__WEBPACK_IMPORTED_MODULE_6__/* .copyIntoScratch */ .Yd)(file, node_path__WEBPACK_IMPORTED_MODULE_3___default().join(root, base));
            published.push([(await (0,_core_checksum_js__WEBPACK_IMPORTED_MODULE_4__/* .sha256File */ .Q)(file)).sha256, `${name}/${base}`]);
            extras.push(node_path__WEBPACK_IMPORTED_MODULE_3___default().join(root, base));
        }
        for (const output of publish) {
            if (!output.modelfile)
                continue;
            const base = node_path__WEBPACK_IMPORTED_MODULE_3___default().basename(output.modelfile);
            await (0,_core_scratch_js__WEBPACK_IMPORTED_MODULE_6__/* .copyIntoScratch */ .Yd)(output.modelfile, node_path__WEBPACK_IMPORTED_MODULE_3___default().join(root, base));
            published.push([(await (0,_core_checksum_js__WEBPACK_IMPORTED_MODULE_4__/* .sha256File */ .Q)(output.modelfile)).sha256, `${name}/${base}`]);
            extras.push(node_path__WEBPACK_IMPORTED_MODULE_3___default().join(root, base));
        }
        await (0,_core_scratch_js__WEBPACK_IMPORTED_MODULE_6__/* .writeScratchFile */ .aW)(node_path__WEBPACK_IMPORTED_MODULE_3___default().join(root, 'SHA256SUMS'), (0,_sums_js__WEBPACK_IMPORTED_MODULE_11__/* .sumsText */ .MW)(published));
        const staged = [node_path__WEBPACK_IMPORTED_MODULE_3___default().join(root, 'SHA256SUMS'), node_path__WEBPACK_IMPORTED_MODULE_3___default().join(root, 'manifest.json'), ...extras];
        await send(name, 'checksums', staged, root, 0, {});
    }
    finally {
        await (0,_core_workspace_js__WEBPACK_IMPORTED_MODULE_5__/* .discard */ .vf)(staging); // a failed removal warns: it never replaces the upload's own error
    }
    reportSuperseded(earlier, outcome);
    if (config.removeAfterUpload)
        await removeUploaded(publish, outcome);
    return outcome;
}
/** On a re-run, the run's artifacts before this attempt's uploads; a listing error only warns. */
async function earlierArtifacts(client) {
    try {
        return (await client.listArtifacts()).artifacts.map(a => ({ name: a.name, id: a.id }));
    }
    catch (error) {
        _actions_core__WEBPACK_IMPORTED_MODULE_0__/* .warning */ .$e(`Listing this run's artifacts before the upload failed (${messageOf(error)}), so the summary cannot say which artifacts of an earlier attempt this one supersedes; the upload goes ahead.`);
        return [];
    }
}
/** The earlier attempts' artifacts of the names uploaded now: one notice, and the outcome. */
function reportSuperseded(earlier, outcome) {
    const now = new Set(outcome.artifacts.map(a => a.name.toLowerCase()));
    const mine = new Set(outcome.artifacts.map(a => a.id));
    outcome.superseded = earlier.filter(a => now.has(a.name.toLowerCase()) && !mine.has(a.id));
    if (outcome.superseded.length === 0)
        return;
    const names = [...new Set(outcome.superseded.map(a => a.name))];
    _actions_core__WEBPACK_IMPORTED_MODULE_0__/* .notice */ .lm(_core_log_js__WEBPACK_IMPORTED_MODULE_10__/* .logSafe */ .sN(`This is attempt ${runAttempt()} of the run: its artifacts ${names.join(', ')} supersede the ones of the same names from an earlier attempt (ids ${outcome.superseded.map(a => a.id).join(', ')}), which stay listed in the run; download-artifact and the toolkit take the newest artifact of a name.`));
}
/**
 * Characters the artifact service refuses in a file path inside an artifact (`@actions/artifact`
 * 6.2.1 lib/internal/upload/path-and-artifact-name-validation.js,
 * invalidArtifactFilePathCharacters; the client checks each path only when it zips, after the
 * artifacts before it went up). Path separators are allowed there.
 */
const FORBIDDEN_IN_PATH = ['"', ':', '<', '>', '|', '*', '?', '\r', '\n'];
/**
 * Before the first upload: every file the MLX zip will hold has a path the service accepts (GGUF
 * artifacts are named from the already checked artifact-name), else one sentence naming it.
 */
async function refuseInvalidPaths(publish) {
    for (const output of publish) {
        if (output.kind !== 'mlx')
            continue;
        for (const [, rel] of await (0,_sums_js__WEBPACK_IMPORTED_MODULE_11__/* .outputFiles */ .Lo)(output)) {
            const bad = FORBIDDEN_IN_PATH.find(c => rel.includes(c));
            if (bad === undefined)
                continue;
            throw new UploadError({
                problem: `The MLX output ${output.path} holds the file ${JSON.stringify(rel)}, whose name holds ${JSON.stringify(bad)}, which the artifact service refuses in a file path (it refuses " : < > | * ? and carriage returns and line feeds)`,
                fix: `rename or remove that file, or set upload: false. Nothing was uploaded`
            }, []);
        }
    }
}
/** The outputs to upload: an over-budget one only with upload-over-budget, else it is held. */
function toPublish(req, outcome) {
    const publish = [];
    for (const output of req.outputs) {
        if (!(0,_budget_index_js__WEBPACK_IMPORTED_MODULE_9__/* .isOverBudget */ .qr)(output))
            publish.push(output);
        else if (req.config.uploadOverBudget) {
            _actions_core__WEBPACK_IMPORTED_MODULE_0__/* .warning */ .$e(`${output.name} is over its ${output.verdict.status === 'over' ? 'size' : 'quality'} budget and is uploaded anyway, because upload-over-budget is true.`);
            publish.push(output);
        }
        else {
            const which = output.verdict.status === 'over' ? 'size' : 'quality';
            const reason = `over its ${which} budget (set upload-over-budget: true to publish it anyway)`;
            _core_log_js__WEBPACK_IMPORTED_MODULE_10__/* .info */ .pq(`${output.name} is not uploaded: ${reason}.`);
            outcome.held.push({ output: output.name, reason });
        }
    }
    return publish;
}
/** remove-after-upload: deletes each uploaded file (every shard) from the runner. */
async function removeUploaded(publish, outcome) {
    for (const output of publish) {
        for (const file of output.shards?.map(s => s.path) ?? [output.path]) {
            await (0,_core_workspace_js__WEBPACK_IMPORTED_MODULE_5__/* .removeTree */ .dM)(file);
            outcome.removed.push(file);
            _core_log_js__WEBPACK_IMPORTED_MODULE_10__/* .info */ .pq(`remove-after-upload: deleted ${file} from the runner.`);
        }
    }
}
/** One upload inside a collapsed log group, timed; errors become one UploadError sentence. */
function sender(client, config, done) {
    return async (name, output, files, root, bytes, options) => {
        const started = performance.now();
        let result;
        try {
            result = await _actions_core__WEBPACK_IMPORTED_MODULE_0__/* .group */ .Os(`Uploading artifact ${name}${bytes > 0 ? ` (${(0,_core_size_js__WEBPACK_IMPORTED_MODULE_7__/* .formatSize */ .Xq)(bytes)})` : ''}`, () => client.uploadArtifact(name, files, root, {
                ...options,
                ...(config.retentionDays !== null ? { retentionDays: config.retentionDays } : {})
            }));
        }
        catch (error) {
            const already = alreadyUploaded(done);
            // The twirp client wraps UsageError in a plain Error ("Failed to CreateArtifact: ...").
            if (error instanceof _actions_artifact__WEBPACK_IMPORTED_MODULE_1__/* .UsageError */ .eb || messageOf(error).includes(QUOTA_MESSAGE)) {
                throw new UploadError({
                    problem: `Uploading artifact ${name} failed: the repository's artifact storage quota is used up`,
                    fix: `set a lower retention-days so artifacts expire sooner (and delete old ones), or set upload: false. ${already}`
                }, [...done]);
            }
            // 409: a live artifact of this attempt has the name (another job of a re-run, where
            // ListArtifacts could not tell attempts apart).
            const clash = messageOf(error).includes('(409)')
                ? '; another job of this run attempt already uploaded an artifact of that name: give each job or matrix entry a distinct artifact-name'
                : '';
            throw new UploadError(
            // No fix of its own unless the clash names one: the whole sentence is its problem.
            { problem: `Uploading artifact ${name} failed: ${messageOf(error)}${clash}. ${already}` }, [...done]);
        }
        const seconds = (performance.now() - started) / 1000;
        if (result.id === undefined || !result.digest) {
            throw new UploadError({
                problem: `Uploading artifact ${name} returned no ${result.id === undefined ? 'id' : 'digest'}. ${alreadyUploaded(done)}`
            }, [...done]);
        }
        const sent = result.size ?? 0;
        const artifact = {
            name,
            output,
            id: result.id,
            digest: `sha256:${result.digest}`,
            url: artifactUrl(result.id),
            bytes: sent,
            seconds
        };
        done.push(artifact);
        _core_log_js__WEBPACK_IMPORTED_MODULE_10__/* .info */ .pq(`Uploaded ${name}: ${(0,_core_size_js__WEBPACK_IMPORTED_MODULE_7__/* .formatSize */ .Xq)(sent)} in ${seconds.toFixed(1)} s (${throughput(sent, seconds)}), artifact id ${result.id}, ${artifact.digest}.`);
        return artifact;
    };
}
/** UsageError's message in @actions/artifact 6.2.1 (lib/internal/shared/errors.js). */
const QUOTA_MESSAGE = 'Artifact storage quota has been hit';
/**
 * GitHub Enterprise Server, where this artifact service does not exist: the toolkit's own rule
 * (@actions/artifact 6.2.1 lib/internal/shared/config.js isGhes), checked here so the user sees
 * one warning instead of the client's warning per call.
 */
function isGhes() {
    const host = new URL(process.env.GITHUB_SERVER_URL || 'https://github.com').hostname
        .trimEnd()
        .toUpperCase();
    return host !== 'GITHUB.COM' && !host.endsWith('.GHE.COM') && !host.endsWith('.LOCALHOST');
}
function artifactUrl(id) {
    const server = process.env.GITHUB_SERVER_URL ?? 'https://github.com';
    const repo = process.env.GITHUB_REPOSITORY ?? '';
    const run = process.env.GITHUB_RUN_ID ?? '';
    return `${server}/${repo}/actions/runs/${run}/artifacts/${id}`;
}
function throughput(bytes, seconds) {
    if (seconds <= 0)
        return '—';
    return `${(bytes / seconds / 1e6).toFixed(1)} MB/s`;
}
function alreadyUploaded(done) {
    if (done.length === 0)
        return 'Nothing was uploaded.';
    return `Already uploaded: ${done.map(a => `${a.name} (id ${a.id})`).join(', ')}.`;
}
function messageOf(error) {
    const text = error instanceof Error ? error.message : String(error);
    return text.split('\n')[0].replace(/[.\s]+$/, '');
}
/**
 * The outputs that leave the runner are exactly the measured ones: measured again right before
 * upload, refused when the size changed. Returns the output's files.
 */
async function remeasure(output, done) {
    let bytes = 0;
    for (const file of output.shards?.map(sh => sh.path) ?? [output.path]) {
        bytes += (await (0,_core_size_js__WEBPACK_IMPORTED_MODULE_7__/* .measurePath */ .gl)(file)).bytes;
    }
    const now = { bytes };
    if (now.bytes !== output.bytes) {
        throw new UploadError({
            problem: `${output.path} changed on disk after it was measured (${output.bytes.toLocaleString('en-US')} bytes then, ${now.bytes.toLocaleString('en-US')} now), so ${output.name} was not uploaded`,
            fix: `make sure nothing else writes to the outputs while the action runs. ${alreadyUploaded(done)}`
        }, [...done]);
    }
    return (0,_sums_js__WEBPACK_IMPORTED_MODULE_11__/* .outputFiles */ .Lo)(output);
}
/** The MLX artifact's root: links to the model files, manifest.json and SHA256SUMS. */
async function stageMlx(root, files, manifestPath, sumOf) {
    const own = new Set(['manifest.json', 'SHA256SUMS']);
    const clash = files.find(([, rel]) => own.has(rel));
    if (clash) {
        throw new _core_types_js__WEBPACK_IMPORTED_MODULE_8__/* .ActionError */ .l({
            problem: `The MLX output holds its own ${clash[1]}, which the artifact adds at its root`,
            fix: `remove it from output-dir or set upload: false`
        });
    }
    const staged = [];
    for (const [file, rel] of files) {
        const link = node_path__WEBPACK_IMPORTED_MODULE_3___default().join(root, rel);
        await (0,_core_scratch_js__WEBPACK_IMPORTED_MODULE_6__/* .linkInScratch */ .wV)(file, link);
        staged.push(link);
    }
    const manifest = node_path__WEBPACK_IMPORTED_MODULE_3___default().join(root, 'manifest.json');
    await (0,_core_scratch_js__WEBPACK_IMPORTED_MODULE_6__/* .copyIntoScratch */ .Yd)(manifestPath, manifest);
    const lines = files.map(([file, rel]) => [sumOf(file), rel]);
    lines.push([(await (0,_core_checksum_js__WEBPACK_IMPORTED_MODULE_4__/* .sha256File */ .Q)(manifest)).sha256, 'manifest.json']);
    await (0,_core_scratch_js__WEBPACK_IMPORTED_MODULE_6__/* .writeScratchFile */ .aW)(node_path__WEBPACK_IMPORTED_MODULE_3___default().join(root, 'SHA256SUMS'), (0,_sums_js__WEBPACK_IMPORTED_MODULE_11__/* .sumsText */ .MW)(lines));
    staged.push(manifest, node_path__WEBPACK_IMPORTED_MODULE_3___default().join(root, 'SHA256SUMS'));
    return staged;
}
/**
 * The bytes sent are not the bytes measured (the file changed after its checksum): the artifact
 * is deleted from the run so nobody downloads it, and the step fails.
 */
async function refuseMismatch(client, sent, expected, outcome) {
    outcome.artifacts.splice(outcome.artifacts.indexOf(sent), 1);
    let fate = 'it was deleted from the run';
    try {
        await client.deleteArtifact(sent.name);
    }
    catch (error) {
        fate = `deleting it failed (${messageOf(error)}): delete artifact id ${sent.id} by hand`;
    }
    throw new UploadError({
        problem: `Artifact ${sent.name}: uploaded bytes differ from the file on disk (uploaded ${sent.digest}, measured ${expected}), so the file changed after it was measured`,
        fix: `${fate}. Make sure nothing else writes to the outputs while the action runs. ${alreadyUploaded(outcome.artifacts)}`
    }, [...outcome.artifacts]);
}


/***/ })

};

//# sourceMappingURL=734.index.js.map