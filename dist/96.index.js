export const id = 96;
export const ids = [96];
export const modules = {

/***/ 92096:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   DEFAULT_ENDPOINT: () => (/* binding */ DEFAULT_ENDPOINT),
/* harmony export */   DEFAULT_REVISION: () => (/* binding */ DEFAULT_REVISION),
/* harmony export */   DOWNLOAD_ATTEMPTS: () => (/* binding */ DOWNLOAD_ATTEMPTS),
/* harmony export */   MLX_LM_ALLOW_PATTERNS: () => (/* binding */ MLX_LM_ALLOW_PATTERNS),
/* harmony export */   checkCacheOutside: () => (/* binding */ checkCacheOutside),
/* harmony export */   checkRevision: () => (/* binding */ checkRevision),
/* harmony export */   expandPath: () => (/* binding */ expandPath),
/* harmony export */   fetchHubBase: () => (/* binding */ fetchHubBase),
/* harmony export */   fnmatch: () => (/* binding */ fnmatch),
/* harmony export */   hubSettings: () => (/* binding */ hubSettings),
/* harmony export */   mlxLmWants: () => (/* binding */ mlxLmWants),
/* harmony export */   repoFolder: () => (/* binding */ repoFolder),
/* harmony export */   resolveHubBase: () => (/* binding */ resolveHubBase)
/* harmony export */ });
/* harmony import */ var _actions_core__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(33838);
/* harmony import */ var _huggingface_hub__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(1429);
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(73024);
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_2___default = /*#__PURE__*/__webpack_require__.n(node_fs__WEBPACK_IMPORTED_MODULE_2__);
/* harmony import */ var node_os__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(48161);
/* harmony import */ var node_os__WEBPACK_IMPORTED_MODULE_3___default = /*#__PURE__*/__webpack_require__.n(node_os__WEBPACK_IMPORTED_MODULE_3__);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(76760);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_4___default = /*#__PURE__*/__webpack_require__.n(node_path__WEBPACK_IMPORTED_MODULE_4__);
/* harmony import */ var _core_disk_js__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(90418);
/* harmony import */ var _core_download_js__WEBPACK_IMPORTED_MODULE_6__ = __webpack_require__(32207);
/* harmony import */ var _core_folders_js__WEBPACK_IMPORTED_MODULE_7__ = __webpack_require__(73102);
/* harmony import */ var _core_input_values_js__WEBPACK_IMPORTED_MODULE_8__ = __webpack_require__(92154);
/* harmony import */ var _core_redact_js__WEBPACK_IMPORTED_MODULE_9__ = __webpack_require__(12258);
/* harmony import */ var _core_size_js__WEBPACK_IMPORTED_MODULE_10__ = __webpack_require__(53910);
/* harmony import */ var _core_types_js__WEBPACK_IMPORTED_MODULE_11__ = __webpack_require__(73054);
/* harmony import */ var _core_log_js__WEBPACK_IMPORTED_MODULE_12__ = __webpack_require__(44325);
/**
 * A Hugging Face repo id as the base model: resolved to a commit and listed with every file's size
 * (@huggingface/hub), checked against the free disk, and downloaded into the cache layout the
 * Python side reads (`models--ORG--NAME/{blobs,snapshots/<commit>,refs}`), so that fuse gets a
 * local snapshot path and nothing is fetched twice. The file bytes are fetched by
 * src/core/download.ts, not by the client (which has no resume): a cut download resumes from its
 * partial blob.
 */













/**
 * The files mlx_lm's own download takes (ml-explore/mlx-lm v0.31.3 and main at d78bf58e,
 * mlx_lm/utils.py `_download`, DEFAULT_ALLOW_PATTERNS; the same list since v0.28.3), matched as
 * huggingface_hub's snapshot_download matches allow_patterns: fnmatch on the file's path in the
 * repo, where `*` also crosses `/`.
 */
const MLX_LM_ALLOW_PATTERNS = [
    '*.json',
    'model*.safetensors',
    '*.py',
    'tokenizer.model',
    '*.tiktoken',
    'tiktoken.model',
    '*.txt',
    '*.jsonl',
    '*.jinja'
];
/** huggingface_hub's default endpoint and revision (constants.py ENDPOINT, DEFAULT_REVISION). */
const DEFAULT_ENDPOINT = 'https://huggingface.co';
const DEFAULT_REVISION = 'main';
const COMMIT = /^[0-9a-f]{40}$/;
/** Tries in a row without a new byte before a download is given up. */
const DOWNLOAD_ATTEMPTS = 5;
/**
 * The settings as huggingface_hub reads them (huggingface/huggingface_hub at 03333b68,
 * src/huggingface_hub/constants.py: HF_HOME, HF_HUB_CACHE, HF_TOKEN_PATH, each through
 * os.path.expandvars(os.path.expanduser(...)); HF_HUB_OFFLINE by `_is_true`; and at 08060680,
 * src/huggingface_hub/utils/_auth.py: get_token reads HF_TOKEN, then HUGGING_FACE_HUB_TOKEN,
 * then the file HF_TOKEN_PATH, each cleaned by `_clean_token`). An empty variable counts as unset.
 */
async function hubSettings(tokenInput, env = process.env) {
    const home = expandPath(env.HF_HOME || node_path__WEBPACK_IMPORTED_MODULE_4___default().join(env.XDG_CACHE_HOME || node_path__WEBPACK_IMPORTED_MODULE_4___default().join(homeOf(env), '.cache'), 'huggingface'), env);
    const cacheDir = expandPath(env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE || node_path__WEBPACK_IMPORTED_MODULE_4___default().join(home, 'hub'), env);
    const token = cleanToken(tokenInput) ??
        cleanToken(env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN) ??
        (await tokenFile(expandPath(env.HF_TOKEN_PATH || node_path__WEBPACK_IMPORTED_MODULE_4___default().join(home, 'token'), env)));
    (0,_core_redact_js__WEBPACK_IMPORTED_MODULE_9__/* .addSecret */ .C)(token);
    return {
        endpoint: checkEndpoint((env.HF_ENDPOINT || DEFAULT_ENDPOINT).replace(/\/+$/, '')),
        cacheDir: node_path__WEBPACK_IMPORTED_MODULE_4___default().resolve(cacheDir),
        token,
        offline: isTrue(env.HF_HUB_OFFLINE || env.TRANSFORMERS_OFFLINE),
        retryDelayMs: 2000
    };
}
/** huggingface_hub constants.py `_is_true`. */
function isTrue(value) {
    return ['1', 'ON', 'YES', 'TRUE'].includes((value ?? '').toUpperCase());
}
/** `_clean_token`: line breaks removed, spaces trimmed, empty is none. */
function cleanToken(token) {
    return token?.replace(/[\r\n]/g, '').trim() || null;
}
async function tokenFile(file) {
    try {
        return cleanToken(await node_fs__WEBPACK_IMPORTED_MODULE_2__.promises.readFile(file, 'utf8'));
    }
    catch (error) {
        const code = error.code;
        if (code === 'ENOENT')
            return null;
        throw new _core_types_js__WEBPACK_IMPORTED_MODULE_11__/* .ActionError */ .l({
            problem: `Could not read the Hugging Face token file "${file}" (HF_TOKEN_PATH, else HF_HOME/token) (${code ?? String(error)})`,
            fix: `fix its permissions, or give the token in hf-token or HF_TOKEN`
        });
    }
}
function homeOf(env) {
    return env.HOME || node_os__WEBPACK_IMPORTED_MODULE_3___default().homedir();
}
/**
 * Python's os.path.expandvars(os.path.expanduser(p)) on POSIX: a leading `~` or `~/` is HOME
 * (`~user` only for this user; another user's stays as written), then `$NAME` and `${NAME}` are
 * replaced by set variables, unset ones kept as written.
 */
function expandPath(p, env = process.env) {
    let out = p;
    const user = /^~([^/]*)/.exec(out);
    if (user && (user[1] === '' || user[1] === node_os__WEBPACK_IMPORTED_MODULE_3___default().userInfo().username)) {
        const home = (user[1] === '' ? homeOf(env) : node_os__WEBPACK_IMPORTED_MODULE_3___default().homedir()).replace(/\/+$/, '');
        out = home + out.slice(user[0].length) || '/';
    }
    return out.replace(/\$(\w+|\{[^}]*\})/g, (whole, name) => {
        const key = name.startsWith('{') ? name.slice(1, -1) : name;
        return env[key] ?? whole;
    });
}
/** HF_ENDPOINT must be a URL without credentials (fetch refuses them, and they would be printed). */
function checkEndpoint(endpoint) {
    let url;
    try {
        url = new URL(endpoint);
    }
    catch {
        throw new _core_types_js__WEBPACK_IMPORTED_MODULE_11__/* .ActionError */ .l({
            problem: `HF_ENDPOINT "${(0,_core_redact_js__WEBPACK_IMPORTED_MODULE_9__/* .redact */ .E)(endpoint)}" is not a URL`,
            fix: `set it to the Hub's address, such as ${DEFAULT_ENDPOINT}, or unset it`
        });
    }
    if (url.username || url.password) {
        throw new _core_types_js__WEBPACK_IMPORTED_MODULE_11__/* .ActionError */ .l({
            problem: `HF_ENDPOINT "${(0,_core_redact_js__WEBPACK_IMPORTED_MODULE_9__/* .redact */ .E)(endpoint)}" holds a user name or password, which this action does not send`,
            fix: `remove them from HF_ENDPOINT, and give the Hub token in hf-token or HF_TOKEN`
        });
    }
    return endpoint;
}
/**
 * Refuses a Hugging Face cache inside an output folder: the action empties and replaces those,
 * so the snapshot fuse reads would be deleted under it.
 */
async function checkCacheOutside(s, outputs) {
    const cache = await (0,_core_folders_js__WEBPACK_IMPORTED_MODULE_7__/* .realish */ .f8)(s.cacheDir);
    for (const [name, dir] of outputs) {
        if (!dir)
            continue;
        const rel = node_path__WEBPACK_IMPORTED_MODULE_4___default().relative(await (0,_core_folders_js__WEBPACK_IMPORTED_MODULE_7__/* .realish */ .f8)(dir), cache);
        if (rel === '' || (rel.split((node_path__WEBPACK_IMPORTED_MODULE_4___default().sep))[0] !== '..' && !node_path__WEBPACK_IMPORTED_MODULE_4___default().isAbsolute(rel))) {
            throw new _core_types_js__WEBPACK_IMPORTED_MODULE_11__/* .ActionError */ .l({
                problem: `The Hugging Face cache "${s.cacheDir}" (HF_HUB_CACHE, else HF_HOME/hub) lies inside ${name} "${dir}", which the action empties and replaces`,
                fix: `set HF_HUB_CACHE or HF_HOME to a folder outside output-dir and gguf-dir`
            });
        }
    }
}
/**
 * A revision is joined into the cache path (refs/<revision>), so it must be a git ref name
 * (isRefName, git check-ref-format's rules).
 */
function checkRevision(revision) {
    if (!(0,_core_input_values_js__WEBPACK_IMPORTED_MODULE_8__/* .isRefName */ .pA)(revision)) {
        throw new _core_types_js__WEBPACK_IMPORTED_MODULE_11__/* .ActionError */ .l({
            problem: `Input revision "${_core_log_js__WEBPACK_IMPORTED_MODULE_12__/* .logSafe */ .sN(revision)}" is not a valid git branch, tag or commit name (git check-ref-format)`,
            fix: `give a branch, a tag or a commit id`
        });
    }
}
/**
 * huggingface_hub's `_validate_relative_filename` (src/huggingface_hub/_local_folder.py, ported
 * by @huggingface/hub 2.17.5 src/utils/validateRelativeFilename.ts): a repo file name is joined
 * onto the cache, so `..`, an absolute path or a drive letter could write anywhere.
 */
function escapesFolder(file) {
    const parts = file.replace(/\\/g, '/').split('/');
    return (parts.includes('..') ||
        file.startsWith('/') ||
        file.startsWith('\\') ||
        parts.some(p => /^[a-zA-Z]:/.test(p)));
}
/** fnmatch as Python's: `*` any run of characters (also `/`), `?` one, `[...]` a class. */
function fnmatch(name, pattern) {
    let re = '';
    for (let i = 0; i < pattern.length; i++) {
        const c = pattern[i];
        if (c === '*')
            re += '.*';
        else if (c === '?')
            re += '.';
        else if (c === '[') {
            const end = pattern.indexOf(']', i + 2);
            if (end < 0)
                re += '\\[';
            else {
                const body = pattern.slice(i + 1, end).replace(/\\/g, '\\\\');
                re += `[${body.startsWith('!') ? '^' + body.slice(1) : body}]`;
                i = end;
            }
        }
        else
            re += c.replace(/[.+^${}()|\\/]/g, '\\$&');
    }
    return new RegExp(`^${re}$`, 's').test(name);
}
function mlxLmWants(file) {
    return MLX_LM_ALLOW_PATTERNS.some(p => fnmatch(file, p));
}
/** `models--ORG--NAME`, the repo's folder in the cache (huggingface_hub repo_folder_name). */
function repoFolder(cacheDir, repo) {
    return node_path__WEBPACK_IMPORTED_MODULE_4___default().join(cacheDir, ['models', ...repo.split('/')].join('--'));
}
/** One sentence naming the fix for a failed Hub call. */
function hubError(error, repo, revision, s) {
    if (error instanceof _core_types_js__WEBPACK_IMPORTED_MODULE_11__/* .ActionError */ .l)
        return error;
    const where = s.endpoint === DEFAULT_ENDPOINT ? 'the Hugging Face Hub' : s.endpoint;
    const status = error instanceof _huggingface_hub__WEBPACK_IMPORTED_MODULE_1__/* .HubApiError */ .yL
        ? { code: error.statusCode, detail: error.message }
        : error instanceof _core_download_js__WEBPACK_IMPORTED_MODULE_6__/* .HttpStatusError */ .F9
            ? { code: error.status, detail: error.body }
            : null;
    if (status) {
        if (status.code === 401) {
            return new _core_types_js__WEBPACK_IMPORTED_MODULE_11__/* .ActionError */ .l(s.token
                ? {
                    problem: `${where} refused the token for base-model "${repo}" (HTTP 401: invalid or expired)`,
                    fix: `set hf-token (or HF_TOKEN) to a valid token with read access`
                }
                : {
                    problem: `${where} refused base-model "${repo}" without a token (HTTP 401): it is private or gated, or the id is misspelled`,
                    fix: `set hf-token (or HF_TOKEN) to a token that can read it, or fix the id`
                });
        }
        if (status.code === 403) {
            return new _core_types_js__WEBPACK_IMPORTED_MODULE_11__/* .ActionError */ .l({
                problem: `${where} refused base-model "${repo}" (HTTP 403): it is gated and this token's account has not been granted access, or the token lacks read access`,
                fix: `accept the model's terms on its Hub page, or use a token with read access in hf-token`
            });
        }
        if (status.code === 404) {
            return new _core_types_js__WEBPACK_IMPORTED_MODULE_11__/* .ActionError */ .l({
                problem: `${where} has no model "${repo}" at revision "${revision}" (HTTP 404)`,
                fix: `check the base-model id and the revision input`
            });
        }
        return new _core_types_js__WEBPACK_IMPORTED_MODULE_11__/* .ActionError */ .l({
            problem: `${where} answered HTTP ${status.code} for base-model "${repo}" (${oneLine(status.detail)})`,
            fix: `try again later, or download the model and point base-model at its folder`
        });
    }
    const cause = error instanceof _core_download_js__WEBPACK_IMPORTED_MODULE_6__/* .DownloadCutError */ .ny ? error.cause : error;
    return new _core_types_js__WEBPACK_IMPORTED_MODULE_11__/* .ActionError */ .l({
        problem: `Could not reach ${s.endpoint} to fetch base-model "${repo}" (${oneLine((0,_core_download_js__WEBPACK_IMPORTED_MODULE_6__/* .networkCause */ .u6)(cause))})`,
        fix: `check the runner's network, proxy and HF_ENDPOINT, then run again (files already downloaded are kept)`
    });
}
function oneLine(text) {
    return text.replace(/\s+/g, ' ').trim().slice(0, 300);
}
/**
 * Resolves `repo` at `revision` to a commit and lists the files mlx_lm would download, with
 * their sizes; when some must be downloaded, asks for one byte of one file, so that a gated repo
 * the token cannot read (its listing is public) fails here. Nothing is downloaded. Cheap, so it
 * runs before any other expensive check. Offline, the cached snapshot is listed instead.
 */
async function resolveHubBase(repo, revisionInput, s) {
    const revision = revisionInput || DEFAULT_REVISION;
    checkRevision(revision);
    if (s.offline)
        return resolveOffline(repo, revision, s);
    let commit;
    const listed = [];
    const hub = { hubUrl: s.endpoint, fetch: hubFetch(s) };
    try {
        const info = await (0,_huggingface_hub__WEBPACK_IMPORTED_MODULE_1__/* .modelInfo */ .gi)({ name: repo, revision, additionalFields: ['sha'], ...hub });
        commit = String(info.sha ?? '');
        if (!COMMIT.test(commit)) {
            throw new _core_types_js__WEBPACK_IMPORTED_MODULE_11__/* .ActionError */ .l({
                problem: `${s.endpoint} did not name a commit for base-model "${repo}" at revision "${revision}"`,
                fix: `check that HF_ENDPOINT points at a Hugging Face Hub`
            });
        }
        for await (const entry of (0,_huggingface_hub__WEBPACK_IMPORTED_MODULE_1__/* .listFiles */ .CS)({ repo, revision: commit, recursive: true, ...hub })) {
            if (entry.type === 'file' && mlxLmWants(entry.path)) {
                const etag = entry.lfs?.oid ?? entry.oid ?? entry.xetHash ?? null;
                listed.push({ path: entry.path, bytes: entry.lfs?.size ?? entry.size, etag });
            }
        }
    }
    catch (error) {
        throw hubError(error, repo, revision, s);
    }
    for (const file of listed)
        checkListedFile(file, repo, commit);
    listed.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    checkConfig(listed, repo, commit);
    const snapshotDir = node_path__WEBPACK_IMPORTED_MODULE_4___default().join(repoFolder(s.cacheDir, repo), 'snapshots', commit);
    const missing = [];
    for (const file of listed) {
        const have = await node_fs__WEBPACK_IMPORTED_MODULE_2__.promises.stat(node_path__WEBPACK_IMPORTED_MODULE_4___default().join(snapshotDir, file.path)).catch(() => null);
        if (!have?.isFile() || have.size !== file.bytes)
            missing.push(file);
    }
    if (missing.length > 0)
        await probeAccess(repo, revision, commit, s);
    return { repo, revision, commit, settings: s, listed, missing, snapshotDir };
}
/** A listed file whose name or blob name would leave the cache folder is refused. */
function checkListedFile(file, repo, commit) {
    if (escapesFolder(file.path)) {
        throw new _core_types_js__WEBPACK_IMPORTED_MODULE_11__/* .ActionError */ .l({
            problem: `The Hub lists a file "${_core_log_js__WEBPACK_IMPORTED_MODULE_12__/* .logSafe */ .sN(file.path)}" in base-model "${repo}" (commit ${commit}), a name that would be written outside the cache folder`,
            fix: `this action does not download it: use another revision, or ask the repository's owner to rename the file`
        });
    }
    if (!file.etag || !/^[0-9a-f]{40,64}$/.test(file.etag)) {
        throw new _core_types_js__WEBPACK_IMPORTED_MODULE_11__/* .ActionError */ .l({
            problem: `The Hub lists the file "${_core_log_js__WEBPACK_IMPORTED_MODULE_12__/* .logSafe */ .sN(file.path)}" in base-model "${repo}" (commit ${commit}) without a git or LFS hash, so it cannot be cached`,
            fix: `check that HF_ENDPOINT points at a Hugging Face Hub`
        });
    }
}
function checkConfig(listed, repo, commit) {
    if (!listed.some(f => f.path === 'config.json')) {
        throw new _core_types_js__WEBPACK_IMPORTED_MODULE_11__/* .ActionError */ .l({
            problem: `Hugging Face repo "${repo}" (commit ${commit}) has no config.json at its top level`,
            fix: `point base-model at an MLX or transformers model repo`
        });
    }
}
/**
 * One byte of config.json, as a download asks for it: a gated repo answers its model info and
 * file list to anyone, and 401/403 only for the files.
 */
async function probeAccess(repo, revision, commit, s) {
    try {
        const res = await hubFetch(s)(fileUrl(s, repo, commit, 'config.json'), {
            headers: { Range: 'bytes=0-0' }
        });
        const body = res.ok ? '' : await res.text().catch(() => '');
        await res.body?.cancel().catch(() => undefined);
        if (!res.ok)
            throw new _core_download_js__WEBPACK_IMPORTED_MODULE_6__/* .HttpStatusError */ .F9(res.status, body);
    }
    catch (error) {
        throw hubError(error, repo, revision, s);
    }
}
/** HF_HUB_OFFLINE: the revision's snapshot from the cache (refs/<revision>), listed from disk. */
async function resolveOffline(repo, revision, s) {
    const storage = repoFolder(s.cacheDir, repo);
    const commit = COMMIT.test(revision)
        ? revision
        : (await node_fs__WEBPACK_IMPORTED_MODULE_2__.promises.readFile(node_path__WEBPACK_IMPORTED_MODULE_4___default().join(storage, 'refs', revision), 'utf8').catch(() => '')).trim();
    const snapshotDir = node_path__WEBPACK_IMPORTED_MODULE_4___default().join(storage, 'snapshots', commit);
    const entries = COMMIT.test(commit)
        ? await node_fs__WEBPACK_IMPORTED_MODULE_2__.promises.readdir(snapshotDir, { recursive: true, withFileTypes: true }).catch(() => null)
        : null;
    if (!entries) {
        throw new _core_types_js__WEBPACK_IMPORTED_MODULE_11__/* .ActionError */ .l({
            problem: `HF_HUB_OFFLINE is set, and the Hugging Face cache ${s.cacheDir} holds no snapshot of base-model "${repo}" at revision "${revision}"`,
            fix: `run once with network access (unset HF_HUB_OFFLINE), or point base-model at a local folder`
        });
    }
    const listed = [];
    for (const entry of entries) {
        const full = node_path__WEBPACK_IMPORTED_MODULE_4___default().join(entry.parentPath, entry.name);
        const file = node_path__WEBPACK_IMPORTED_MODULE_4___default().relative(snapshotDir, full).split((node_path__WEBPACK_IMPORTED_MODULE_4___default().sep)).join('/');
        if (!mlxLmWants(file))
            continue;
        const st = await node_fs__WEBPACK_IMPORTED_MODULE_2__.promises.stat(full).catch(() => null);
        if (st?.isFile())
            listed.push({ path: file, bytes: st.size, etag: null });
    }
    listed.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    checkConfig(listed, repo, commit);
    _core_log_js__WEBPACK_IMPORTED_MODULE_12__/* .info */ .pq(`HF_HUB_OFFLINE is set: using the cached snapshot ${snapshotDir}.`);
    return { repo, revision, commit, settings: s, listed, missing: [], snapshotDir };
}
/** fetch with the token sent to the endpoint only (a redirect elsewhere drops it, as fetch does). */
function hubFetch(s) {
    const origin = new URL(s.endpoint).origin;
    return (input, init) => {
        const url = input instanceof Request ? input.url : String(input);
        if (!s.token || new URL(url).origin !== origin)
            return fetch(input, init);
        const headers = new Headers(init?.headers);
        headers.set('Authorization', `Bearer ${s.token}`);
        return fetch(input, { ...init, headers });
    };
}
/** `<endpoint>/ORG/NAME/resolve/<commit>/<path>`, as huggingface_hub's hf_hub_url. */
function fileUrl(s, repo, commit, file) {
    return `${s.endpoint}/${repo}/resolve/${commit}/${file.split('/').map(encodeURIComponent).join('/')}`;
}
/**
 * Refuses when the missing files do not fit on the cache's disk, downloads them (size and
 * progress in a log group), records the revision's commit in refs/ and returns the snapshot,
 * measured by the links' targets.
 */
async function fetchHubBase(plan, free) {
    const { repo, commit, listed, missing, snapshotDir, settings: s } = plan;
    const storage = repoFolder(s.cacheDir, repo);
    const total = sum(listed);
    const toFetch = sum(missing);
    const name = `${repo}@${commit.slice(0, 12)}`;
    if (missing.length === 0) {
        _core_log_js__WEBPACK_IMPORTED_MODULE_12__/* .info */ .pq(`Base model ${name}: all ${listed.length} files (${(0,_core_size_js__WEBPACK_IMPORTED_MODULE_10__/* .formatSize */ .Xq)(total)}) are already in ${s.cacheDir}.`);
    }
    else {
        await (0,_core_disk_js__WEBPACK_IMPORTED_MODULE_5__/* .ensureFreeSpace */ .h)(s.cacheDir, toFetch, `downloading base-model "${repo}"`, free);
        await _actions_core__WEBPACK_IMPORTED_MODULE_0__/* .group */ .Os(`Downloading base-model ${name} from ${s.endpoint}: ${missing.length} of ${listed.length} files, ${(0,_core_size_js__WEBPACK_IMPORTED_MODULE_10__/* .formatSize */ .Xq)(toFetch)}`, () => download(plan, toFetch));
    }
    // huggingface_hub records a branch or tag's commit in refs/<revision> (a valid ref name, so
    // inside refs/), so a later download of the same revision by the Python side finds this snapshot.
    if (!COMMIT.test(plan.revision) && !s.offline) {
        await (0,_core_download_js__WEBPACK_IMPORTED_MODULE_6__/* .writeText */ .x3)(node_path__WEBPACK_IMPORTED_MODULE_4___default().join(storage, 'refs', plan.revision), commit);
    }
    // The snapshot holds links into blobs/: measure their targets, and refuse a short file.
    const files = [];
    for (const file of listed) {
        const full = node_path__WEBPACK_IMPORTED_MODULE_4___default().join(snapshotDir, file.path);
        const st = await node_fs__WEBPACK_IMPORTED_MODULE_2__.promises.stat(full).catch(() => null);
        if (!st?.isFile() || st.size !== file.bytes) {
            throw new _core_types_js__WEBPACK_IMPORTED_MODULE_11__/* .ActionError */ .l({
                problem: `The cached file ${full} of base-model "${repo}" is ${st?.isFile() ? `${st.size} bytes where the Hub lists ${file.bytes}` : 'missing or not a file'}`,
                fix: `delete ${storage} and run again`
            });
        }
        files.push({ path: file.path, bytes: st.size });
    }
    return {
        repo,
        revision: plan.revision,
        commit,
        endpoint: s.endpoint,
        snapshotDir,
        files,
        bytes: sum(files),
        downloadedBytes: toFetch,
        downloadedFiles: missing.length
    };
}
async function download(plan, total) {
    const { repo, commit, missing: files, settings: s } = plan;
    const storage = repoFolder(s.cacheDir, repo);
    const fetcher = hubFetch(s);
    let done = 0;
    // A multi-GB shard takes minutes: every 20 s, say how far its partial blob has come.
    const blobs = node_path__WEBPACK_IMPORTED_MODULE_4___default().join(storage, 'blobs');
    const started = Date.now();
    const heartbeat = setInterval(() => {
        void partialBytes(blobs, started).then(n => {
            if (n > 0)
                _core_log_js__WEBPACK_IMPORTED_MODULE_12__/* .info */ .pq(`  ... ${(0,_core_size_js__WEBPACK_IMPORTED_MODULE_10__/* .formatSize */ .Xq)(done + n)} of ${(0,_core_size_js__WEBPACK_IMPORTED_MODULE_10__/* .formatSize */ .Xq)(total)}`);
        });
    }, 20_000);
    try {
        for (const [i, file] of files.entries()) {
            _core_log_js__WEBPACK_IMPORTED_MODULE_12__/* .info */ .pq(`[${i + 1}/${files.length}] ${file.path} (${(0,_core_size_js__WEBPACK_IMPORTED_MODULE_10__/* .formatSize */ .Xq)(file.bytes)})`);
            const blob = node_path__WEBPACK_IMPORTED_MODULE_4___default().join(blobs, file.etag ?? '');
            // A blob another revision already fetched is linked, not downloaded again.
            if (!(await node_fs__WEBPACK_IMPORTED_MODULE_2__.promises.stat(blob).catch(() => null))) {
                await (0,_core_download_js__WEBPACK_IMPORTED_MODULE_6__/* .download */ .RG)({
                    // By the commit, not the branch, so every file comes from the one snapshot.
                    url: fileUrl(s, repo, commit, file.path),
                    file: blob,
                    bytes: file.bytes,
                    fetch: fetcher,
                    attempts: DOWNLOAD_ATTEMPTS,
                    delayMs: s.retryDelayMs,
                    onRetry: r => _core_log_js__WEBPACK_IMPORTED_MODULE_12__/* .info */ .pq(`  ${file.path}: interrupted at ${(0,_core_size_js__WEBPACK_IMPORTED_MODULE_10__/* .formatSize */ .Xq)(r.have)} of ${(0,_core_size_js__WEBPACK_IMPORTED_MODULE_10__/* .formatSize */ .Xq)(file.bytes)} (${oneLine(r.why)}); retry ${r.attempt} of ${DOWNLOAD_ATTEMPTS - 1} in ${r.delayMs / 1000} s, resuming from there`)
                }).catch((error) => {
                    throw fileError(error, file, blob, plan);
                });
            }
            await (0,_core_download_js__WEBPACK_IMPORTED_MODULE_6__/* .placeLink */ .aE)(blob, node_path__WEBPACK_IMPORTED_MODULE_4___default().join(plan.snapshotDir, file.path));
            done += file.bytes;
            _core_log_js__WEBPACK_IMPORTED_MODULE_12__/* .info */ .pq(`  ${(0,_core_size_js__WEBPACK_IMPORTED_MODULE_10__/* .formatSize */ .Xq)(done)} of ${(0,_core_size_js__WEBPACK_IMPORTED_MODULE_10__/* .formatSize */ .Xq)(total)} done (${total ? Math.floor((done / total) * 100) : 100}%)`);
        }
    }
    finally {
        clearInterval(heartbeat);
    }
}
/** One sentence for a file that could not be downloaded: cut, short, refused, or not written. */
function fileError(error, file, blob, plan) {
    const { repo, settings: s } = plan;
    const where = s.endpoint === DEFAULT_ENDPOINT ? 'the Hugging Face Hub' : s.endpoint;
    if (error instanceof _core_download_js__WEBPACK_IMPORTED_MODULE_6__/* .DownloadCutError */ .ny && error.answered) {
        return new _core_types_js__WEBPACK_IMPORTED_MODULE_11__/* .ActionError */ .l({
            problem: `The download of ${_core_log_js__WEBPACK_IMPORTED_MODULE_12__/* .logSafe */ .sN(file.path)} (base-model "${repo}") was cut off ${error.attempts} times in a row at ${error.have} of ${file.bytes} bytes`,
            fix: `the bytes so far stay in ${(0,_core_download_js__WEBPACK_IMPORTED_MODULE_6__/* .partialPath */ .Dn)(blob)} and the next run resumes from them: check the runner's network, proxy and HF_ENDPOINT, then run again`
        });
    }
    if (error instanceof _core_download_js__WEBPACK_IMPORTED_MODULE_6__/* .DownloadSizeError */ .ax) {
        const got = error.got > error.expected ? `more than ${error.expected}` : String(error.got);
        return new _core_types_js__WEBPACK_IMPORTED_MODULE_11__/* .ActionError */ .l({
            problem: `${where} sent ${got} bytes for ${_core_log_js__WEBPACK_IMPORTED_MODULE_12__/* .logSafe */ .sN(file.path)} of base-model "${repo}" where its file list says ${error.expected}`,
            fix: `the partial file was removed: run again, and if it repeats, check for a proxy that alters downloads`
        });
    }
    const code = error?.code;
    if (code && error.syscall) {
        return new _core_types_js__WEBPACK_IMPORTED_MODULE_11__/* .ActionError */ .l({
            problem: `Could not write ${(0,_core_download_js__WEBPACK_IMPORTED_MODULE_6__/* .partialPath */ .Dn)(blob)} for base-model "${repo}" (${code})`,
            fix: `free space on the cache's disk or set HF_HUB_CACHE to a folder this runner can write, then run again`
        });
    }
    return hubError(error, repo, plan.revision, s);
}
/** Bytes in the partial (`.incomplete`) blobs written since `since` (not an old run's leftovers). */
async function partialBytes(blobs, since) {
    const names = await node_fs__WEBPACK_IMPORTED_MODULE_2__.promises.readdir(blobs).catch(() => []);
    let n = 0;
    for (const name of names.filter(x => x.endsWith('.incomplete'))) {
        const st = await node_fs__WEBPACK_IMPORTED_MODULE_2__.promises.stat(node_path__WEBPACK_IMPORTED_MODULE_4___default().join(blobs, name)).catch(() => null);
        if (st && st.mtimeMs >= since)
            n += st.size;
    }
    return n;
}
function sum(files) {
    return files.reduce((n, f) => n + f.bytes, 0);
}


/***/ })

};

//# sourceMappingURL=96.index.js.map