'use client';
import { useEffect, useState } from 'react';
import { type ProjectFiles } from '@/lib/protocol/editor-api';
import { api } from './api';
import { BLOCK_FILE_MIME } from './file-drop';
import { useEditorState } from './editor-state';
import { upstreamBelow } from '@/lib/ui/block-kinds';

/** The project's block files, as in Mage's left panel; a file not in the pipeline can be added. */
export function FileBrowser() {
  const project = useEditorState((s) => s.project);
  const model = useEditorState((s) => s.model);
  const selected = useEditorState((s) => s.selected);
  const st = useEditorState.getState;
  const [files, setFiles] = useState<ProjectFiles['files']>([]);

  useEffect(() => {
    if (!project) return;
    void api.files(project).then((r) => setFiles(r.files), () => setFiles([]));
  }, [project, model?.version]);

  const inPipeline = new Set(model?.blocks.map((b) => b.uuid));
  const folders = [...new Set(files.map((f) => f.path.split('/')[0] ?? ''))];
  return (
    <nav className="files" aria-label="Project files">
      <h2>Files</h2>
      {folders.map((folder) => (
        <div key={folder}>
          <div className="folder">{folder}/</div>
          <ul>
            {files
              .filter((f) => f.path.startsWith(`${folder}/`))
              .map((f) =>
                inPipeline.has(f.uuid) ? (
                  <li key={f.path}>
                    <button
                      type="button"
                      className={`file${selected === f.uuid ? ' current' : ''}`}
                      onClick={() => {
                        st().select(f.uuid);
                        document.querySelector(`[data-block="${f.uuid}"]`)?.scrollIntoView({ block: 'start' });
                      }}
                    >
                      {f.path.slice(folder.length + 1)}
                    </button>
                  </li>
                ) : (
                  <li key={f.path}>
                    <button
                      type="button"
                      className="file other"
                      aria-label={`Add ${f.path} to the pipeline`}
                      title="Not in this pipeline: click to add it at the end, or drag it into the notebook"
                      draggable
                      onDragStart={(e) => {
                        e.dataTransfer.setData(BLOCK_FILE_MIME, JSON.stringify(f));
                        e.dataTransfer.effectAllowed = 'copy';
                      }}
                      onClick={() => {
                        const last = model?.blocks[model.blocks.length - 1];
                        void st().edit([{ kind: 'add_block', uuid: f.uuid, type: f.type, language: f.language, upstream: upstreamBelow(f.type, last), source: { existing: true } }]);
                      }}
                    >
                      + {f.path.slice(folder.length + 1)}
                    </button>
                  </li>
                ),
              )}
          </ul>
        </div>
      ))}
    </nav>
  );
}
