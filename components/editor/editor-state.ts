'use client';
import { io, type Socket } from 'socket.io-client';
import { z } from 'zod';
import { create } from 'zustand';
import { type EditorEditInput, type EditorPipeline } from '@/lib/protocol/editor-api';
import { CLIENT_EVENT, serverMessageSchema, SERVER_EVENT, type ClientMessage, type ServerMessage } from '@/lib/protocol/messages';
import { type OutputQueryInput, outputQuerySchema, type OutputResult } from '@/lib/protocol/output-query';
import { ApiError, api } from './api';
import { reduceRun, type RunState } from './run-state';
import { fetchJson, goToSignIn } from '@/components/shared/fetch-json';
import { meSchema } from '@/lib/protocol/access-api';
import { InvalidMessageLog } from '@/lib/protocol/invalid-message';
import { addOnFileKey, parseFileKey } from '@/lib/ui/file-keys';

export interface FileState {
  content: string;
  /** What the server has, as of `version`. */
  saved: string;
  version: string;
  loaded: boolean;
  saving: boolean;
  /** Set when a save was refused because the file changed elsewhere. */
  conflict?: string;
  /** Last local edit, for "stale" (edited since the last run). */
  editedAt?: number;
}

export interface AddBlockPlace {
  index: number;
  upstream: string[];
}

/** The run requests of one block (Mage's run variants); whole-pipeline runs go through runPipeline. */
type BlockRunRequest = 'run_block' | 'run_with_upstream' | 'run_downstream';

export interface EditorState {
  project: string;
  pipeline: string;
  model: EditorPipeline | null;
  /** By file key (lib/ui/file-keys.ts): a block's uuid, or `conditionals/<uuid>` / `callbacks/<uuid>`. */
  files: Record<string, FileState>;
  run: RunState;
  /** When each block last completed (ms), for "stale". */
  completedAt: Record<string, number>;
  /** Bumped when a block gets a new output, so its table reloads. */
  outputKeys: Record<string, number>;
  columns: Record<string, { name: string; type: string }[]>;
  selected: string | null;
  collapsed: Record<string, boolean>;
  notice: string | null;
  adding: AddBlockPlace | null;
  /** A viewer's page: code is shown read-only (the server refuses edits and runs anyway). */
  readOnly: boolean;
  init(project: string, pipeline: string): () => void;
  reload(): Promise<void>;
  edit(edits: EditorEditInput[]): Promise<boolean>;
  /** Like edit, but the refusal comes back to the caller (a form shows it beside its fields). */
  tryEdit(edits: EditorEditInput[]): Promise<{ ok: true } | { ok: false; message: string }>;
  setContent(block: string, content: string): void;
  save(block: string): Promise<boolean>;
  saveAll(): Promise<boolean>;
  resolveConflict(block: string, keep: 'mine' | 'theirs'): Promise<void>;
  /** `ignoreCache`: cached blocks (configuration.cache) run anyway and save their new output. */
  runBlock(request: BlockRunRequest, block: string, options?: { ignoreCache?: boolean }): Promise<void>;
  runPipeline(): Promise<void>;
  interrupt(): void;
  restart(): void;
  ask(block: string, query: OutputQueryInput): Promise<OutputResult>;
  select(block: string | null): void;
  toggleCollapsed(block: string): void;
  setNotice(notice: string | null): void;
  setAdding(place: AddBlockPlace | null): void;
}

const draftSchema = z.object({ content: z.string(), version: z.string() });
const draftKey = (project: string, pipeline: string, block: string) => `grimoire:draft:${project}/${pipeline}/${block}`;

function readDraft(project: string, pipeline: string, block: string): z.infer<typeof draftSchema> | null {
  try {
    const raw = window.localStorage.getItem(draftKey(project, pipeline, block));
    if (!raw) return null;
    const parsed = draftSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

function writeDraft(project: string, pipeline: string, block: string, draft: z.infer<typeof draftSchema> | null): void {
  try {
    if (draft) window.localStorage.setItem(draftKey(project, pipeline, block), JSON.stringify(draft));
    else window.localStorage.removeItem(draftKey(project, pipeline, block));
  } catch {
    // Storage full or disabled: the editor still holds the text.
  }
}

/** The file keys of the pipeline's add-ons (their code is edited in the sidekick). */
export function addOnKeys(model: EditorPipeline): string[] {
  return [...model.conditionals, ...model.callbacks].map((a) => addOnFileKey(a.kind, a.uuid));
}

const emptyRun = (): RunState => ({ connected: false, kernel: 'dead', blocks: {}, children: {}, callbackErrors: {} });

/**
 * The editor page's state in the browser (a zustand store): the pipeline, its files and drafts,
 * the run shown live over the socket. Not to be confused with lib/store, the server's PostgreSQL
 * store of runs and triggers.
 */
export const useEditorState = create<EditorState>()((set, get) => {
  // The socket and the questions awaiting an answer belong to this store, not to the module.
  let socket: Socket | null = null;
  let requestCounter = 0;
  const waiting = new Map<string, (r: OutputResult) => void>();
  const send = (message: ClientMessage) => socket?.emit(CLIENT_EVENT, message);
  const ref = () => ({ project: get().project, pipeline: get().pipeline });

  /** A file by its key: a block's through the block API, an add-on's through the add-on API. */
  const fetchFile = (key: string) => {
    const { project, pipeline } = get();
    const k = parseFileKey(key);
    return k.kind === 'block' ? api.file(project, pipeline, k.uuid) : api.addOnFile(project, pipeline, k.addOn, k.uuid);
  };

  const loadFile = async (block: string) => {
    const { project, pipeline } = get();
    try {
      const file = await fetchFile(block);
      // Unsaved text from before a reload or a crash wins over the disk, never silently lost.
      const draft = readDraft(project, pipeline, block);
      const content = draft && draft.content !== file.content ? draft.content : file.content;
      const conflict =
        draft && draft.content !== file.content && draft.version !== file.version
          ? `${file.file} changed on disk since your unsaved edits; keep yours or load theirs`
          : undefined;
      set((s) => ({ files: { ...s.files, [block]: { content, saved: file.content, version: file.version, loaded: true, saving: false, conflict, editedAt: s.files[block]?.editedAt } } }));
    } catch (e) {
      set({ notice: e instanceof Error ? e.message : String(e) });
    }
  };

  /** Old name -> new name of blocks renamed elsewhere, so a save in flight during the rename lands on the moved state. */
  const renamedTo = new Map<string, string>();
  const currentName = (block: string) => {
    let name = block;
    for (let seen = 0; renamedTo.has(name) && seen < 100; seen++) name = renamedTo.get(name) ?? name;
    return name;
  };

  /** Another tab renamed a block: its unsaved text follows the new name (a save then conflicts if the file changed). */
  const moveFileState = (from: string, to: string) => {
    renamedTo.set(from, to);
    const f = get().files[from];
    if (!f) return;
    const { project, pipeline } = get();
    const draft = readDraft(project, pipeline, from);
    if (draft) {
      writeDraft(project, pipeline, to, draft);
      writeDraft(project, pipeline, from, null);
    }
    set((s) => {
      const { [from]: moved, ...rest } = s.files;
      return { files: moved && moved.content !== moved.saved ? { ...rest, [to]: moved } : rest };
    });
  };

  /**
   * An add-on removed from the pipeline (here or in another tab) leaves the files being edited: its
   * file stays on disk, and a save to it would be refused, so saveAll must not try.
   */
  const forgetRemovedAddOns = (model: EditorPipeline) => {
    const keep = new Set(addOnKeys(model));
    const gone = Object.keys(get().files).filter((key) => parseFileKey(key).kind === 'add_on' && !keep.has(key));
    if (gone.length === 0) return;
    // Unsaved code keeps its draft (listing the add-on again brings it back); saved code has nothing to keep.
    const unsaved = gone.filter((key) => get().files[key]?.content !== get().files[key]?.saved);
    for (const key of gone) if (!unsaved.includes(key)) writeDraft(get().project, get().pipeline, key, null);
    set((s) => ({ files: Object.fromEntries(Object.entries(s.files).filter(([key]) => !gone.includes(key))) }));
    if (unsaved.length > 0) set({ notice: `${unsaved.join(', ')} left this pipeline with unsaved edits; they are kept as a draft: add it again to see them` });
  };

  const onServer = (m: ServerMessage) => {
    switch (m.type) {
      case 'output_answer': {
        const resolve = waiting.get(m.requestId);
        waiting.delete(m.requestId);
        if (m.result.ok && m.result.answer.kind === 'page') {
          const cols = m.result.answer.columns;
          set((s) => ({ columns: { ...s.columns, [m.block]: cols } }));
        }
        resolve?.(m.result);
        return;
      }
      case 'pipeline_changed':
        if (m.version === get().model?.version) return;
        for (const r of m.renamed ?? []) moveFileState(r.from, r.to);
        void get().reload();
        return;
      case 'file_changed': {
        const model = get().model;
        const addOn = model ? [...model.conditionals, ...model.callbacks].find((a) => a.file === m.file) : undefined;
        const block = model?.blocks.find((b) => b.file === m.file)?.uuid ?? (addOn ? addOnFileKey(addOn.kind, addOn.uuid) : undefined);
        const f = block ? get().files[block] : undefined;
        // Another tab saved: follow it when this tab has nothing unsaved; otherwise the next save conflicts.
        if (block && f && f.version !== m.version && f.content === f.saved && !f.saving) void loadFile(block);
        return;
      }
      case 'output':
        set((s) => ({
          outputKeys: { ...s.outputKeys, [m.block]: (s.outputKeys[m.block] ?? 0) + 1 },
          columns: { ...s.columns, [m.block]: m.preview.columns },
        }));
        break;
      case 'block_status':
        if (m.status === 'completed') set((s) => ({ completedAt: { ...s.completedAt, [m.block]: Date.parse(m.at) } }));
        break;
      case 'error': {
        // The server handles one socket's messages in order, so a refused query_output is the oldest
        // one still waiting: its view shows why at once instead of waiting for an answer that never comes.
        const oldest = m.request === 'query_output' ? [...waiting][0] : undefined;
        if (oldest) {
          waiting.delete(oldest[0]);
          oldest[1]({ ok: false, message: m.message });
          return;
        }
        // A refusal of anything else this tab asked for (a viewer's run, a block or a pipeline that is
        // gone, a pipeline with problems): the banner says why.
        set({ notice: m.message });
        return;
      }
      default:
        break;
    }
    set((s) => ({ run: reduceRun(s.run, { type: 'server', message: m }) }));
  };

  return {
    project: '',
    pipeline: '',
    model: null,
    files: {},
    run: emptyRun(),
    completedAt: {},
    outputKeys: {},
    columns: {},
    selected: null,
    collapsed: {},
    notice: null,
    adding: null,
    readOnly: false,

    init(project, pipeline) {
      renamedTo.clear();
      set({ project, pipeline, model: null, files: {}, run: emptyRun(), completedAt: {}, outputKeys: {}, columns: {}, selected: null, notice: null, adding: null });
      fetchJson('/api/auth/me', meSchema).then(
        (me) => set({ readOnly: me.user.role === 'viewer' }),
        () => undefined,
      );
      const s = io({ transports: ['websocket'] });
      socket = s;
      s.on('connect', () => {
        set((st) => ({ run: reduceRun(st.run, { type: 'connected', connected: true }) }));
        // After a reconnect (or a server restart) the server replays what it knows, and the
        // pipeline and files are fetched again so the page catches up.
        send({ type: 'subscribe', project, pipeline });
        void get().reload();
      });
      s.on('disconnect', () => {
        set((st) => ({ run: reduceRun(st.run, { type: 'connected', connected: false }) }));
        // Answers to questions asked before the drop are lost with the connection: say so now, not after a minute.
        for (const [id, resolve] of waiting) {
          waiting.delete(id);
          resolve({ ok: false, message: 'the connection to the server was lost; try again' });
        }
      });
      // The server refuses a socket without a valid sign-in: sign in again, then come back.
      s.on('connect_error', (e) => {
        if (e.message.startsWith('unauthorized')) goToSignIn();
      });
      // A message this page cannot read means the server and the page disagree on the protocol: say so in the console.
      const invalidMessages = new InvalidMessageLog('editor: server message');
      s.on(SERVER_EVENT, (raw: unknown) => {
        const parsed = serverMessageSchema.safeParse(raw);
        if (parsed.success) onServer(parsed.data);
        else invalidMessages.invalid(parsed.error);
      });
      const beforeUnload = (e: BeforeUnloadEvent) => {
        if (Object.values(get().files).some((f) => f.content !== f.saved)) e.preventDefault();
      };
      window.addEventListener('beforeunload', beforeUnload);
      return () => {
        window.removeEventListener('beforeunload', beforeUnload);
        s.disconnect();
        if (socket === s) socket = null;
      };
    },

    async reload() {
      const { project, pipeline } = get();
      try {
        const before = get().model?.blocks ?? [];
        const model = await api.pipeline(project, pipeline);
        // A block removed elsewhere while this tab had unsaved edits: say so; the edits stay as a draft.
        const orphaned = before.filter((b) => !model.blocks.some((n) => n.uuid === b.uuid) && get().files[b.uuid]?.content !== get().files[b.uuid]?.saved);
        set({ model });
        if (orphaned.length > 0) {
          const names = orphaned.map((b) => b.uuid).join(', ');
          set({ notice: `${names} left this pipeline (in another tab) while you had unsaved edits; they are kept: add ${names} back from the file browser to see and save them` });
        }
        forgetRemovedAddOns(model);
        await Promise.all(
          [...model.blocks.map((b) => b.uuid), ...addOnKeys(model)].map((key) => {
            const f = get().files[key];
            // Keep unsaved text; refresh what is clean.
            if (f && f.content !== f.saved) return undefined;
            return loadFile(key);
          }),
        );
      } catch (e) {
        set({ notice: e instanceof Error ? e.message : String(e) });
      }
    },

    async edit(edits) {
      const result = await get().tryEdit(edits);
      set({ notice: result.ok ? null : result.message });
      return result.ok;
    },

    async tryEdit(edits) {
      const { project, pipeline, model } = get();
      if (!model) return { ok: false, message: 'the pipeline is still loading' };
      try {
        const next = await api.edit(project, pipeline, model.version, edits);
        set({ model: next });
        forgetRemovedAddOns(next);
        await Promise.all([...next.blocks.map((b) => b.uuid), ...addOnKeys(next)].filter((key) => !get().files[key]).map((key) => loadFile(key)));
        return { ok: true };
      } catch (e) {
        if (e instanceof ApiError && e.code === 'conflict' && /metadata\.yaml changed/.test(e.message)) {
          await get().reload();
          return { ok: false, message: `${e.message}. The pipeline was reloaded; try again.` };
        }
        return { ok: false, message: e instanceof Error ? e.message : String(e) };
      }
    },

    setContent(block, content) {
      const f = get().files[block];
      if (!f || f.content === content) return;
      writeDraft(get().project, get().pipeline, block, content === f.saved ? null : { content, version: f.version });
      set((s) => ({ files: { ...s.files, [block]: { ...f, content, editedAt: Date.now() } } }));
    },

    async save(block) {
      const f = get().files[block];
      if (!f || !f.loaded || f.conflict) return !f?.conflict;
      if (f.content === f.saved) return true;
      const { project, pipeline } = get();
      const content = f.content;
      set((s) => ({ files: { ...s.files, [block]: { ...f, saving: true } } }));
      try {
        const k = parseFileKey(block);
        const saved = k.kind === 'block' ? await api.save(project, pipeline, k.uuid, content, f.version) : await api.saveAddOn(project, pipeline, k.addOn, k.uuid, content, f.version);
        const name = currentName(block);
        set((s) => {
          const now = s.files[name] ?? f;
          return { files: { ...s.files, [name]: { ...now, saved: content, version: saved.version, saving: false } } };
        });
        const now = get().files[name];
        if (now && now.content === content) writeDraft(project, pipeline, name, null);
        return true;
      } catch (e) {
        const name = currentName(block);
        if (name !== block) {
          // Renamed in another tab while this save was on its way, so it found no file under the old
          // name: not a conflict. The text is still unsaved under the new name, where autosave retries.
          set((s) => ({ files: { ...s.files, [name]: { ...(s.files[name] ?? f), saving: false } } }));
          return false;
        }
        const conflict = e instanceof ApiError && e.code === 'conflict' ? e.message : undefined;
        set((s) => ({
          files: { ...s.files, [name]: { ...(s.files[name] ?? f), saving: false, conflict } },
          notice: conflict ? null : e instanceof Error ? e.message : String(e),
        }));
        return false;
      }
    },

    async saveAll() {
      const results = await Promise.all(Object.keys(get().files).map((b) => get().save(b)));
      return results.every(Boolean);
    },

    async resolveConflict(block, keep) {
      const { project, pipeline } = get();
      const f = get().files[block];
      if (!f) return;
      const theirs = await fetchFile(block);
      if (keep === 'theirs') {
        writeDraft(project, pipeline, block, null);
        set((s) => ({ files: { ...s.files, [block]: { ...f, content: theirs.content, saved: theirs.content, version: theirs.version, conflict: undefined } } }));
        return;
      }
      set((s) => ({ files: { ...s.files, [block]: { ...f, saved: theirs.content, version: theirs.version, conflict: undefined } } }));
      await get().save(block);
    },

    async runBlock(request, block, options = {}) {
      // The kernel runs the files on disk: save first, and refuse to run code that could not be saved.
      await get().saveAll();
      const f = get().files[block];
      if (f && (f.conflict || f.content !== f.saved)) {
        set({ notice: `${block} could not be saved (see its conflict); it was not run` });
        return;
      }
      send({ type: request, ...ref(), block, ...(options.ignoreCache ? { ignoreCache: true } : {}) });
    },

    async runPipeline() {
      if (!(await get().saveAll())) {
        set({ notice: 'save failed (see the block marked with a conflict); nothing was run' });
        return;
      }
      send({ type: 'run_pipeline', ...ref() });
    },

    interrupt: () => send({ type: 'interrupt', ...ref() }),
    restart: () => send({ type: 'restart', ...ref() }),

    ask(block, query) {
      const s = socket;
      if (!s || !s.connected) return Promise.resolve({ ok: false, message: 'not connected to the server' });
      requestCounter += 1;
      const requestId = `r${requestCounter}`;
      return new Promise<OutputResult>((resolve) => {
        waiting.set(requestId, resolve);
        send({ type: 'query_output', ...ref(), block, requestId, query: outputQuerySchema.parse(query) });
        setTimeout(() => {
          if (waiting.delete(requestId)) resolve({ ok: false, message: 'the server did not answer' });
        }, 60_000);
      });
    },

    select: (block) => set({ selected: block }),
    toggleCollapsed: (block) => set((s) => ({ collapsed: { ...s.collapsed, [block]: !s.collapsed[block] } })),
    setNotice: (notice) => set({ notice }),
    setAdding: (adding) => set({ adding }),
  };
});

/** Block status as the notebook and graph show it, with "stale" for outputs older than their code or upstream. */
export function displayStatus(state: Pick<EditorState, 'run' | 'completedAt' | 'files' | 'model'>, block: string): string {
  const status = state.run.blocks[block]?.status ?? 'not_run';
  if (status !== 'completed') return status;
  const at = state.completedAt[block] ?? 0;
  if ((state.files[block]?.editedAt ?? 0) > at) return 'stale';
  const upstream = state.model?.blocks.find((b) => b.uuid === block)?.upstream ?? [];
  if (upstream.some((u) => (state.completedAt[u] ?? 0) > at)) return 'stale';
  return status;
}
