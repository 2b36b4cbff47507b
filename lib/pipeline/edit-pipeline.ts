import { isMap, isScalar, isSeq, parseDocument, type Document, type YAMLMap } from 'yaml';
import { ADD_ON_LISTS, type BlockLanguage, type BlockType, type JsonObject, type JsonValue } from './model';

/**
 * Edits to a pipeline's metadata.yaml that go through the YAML Document API, so comments, key
 * order and keys we do not know survive every save (a Mage user's file stays theirs).
 */
export type PipelineEdit =
  | { kind: 'add_block'; uuid: string; type: BlockType; language: BlockLanguage; upstream: string[]; index?: number; configuration?: JsonObject }
  | { kind: 'remove_block'; uuid: string }
  | { kind: 'set_upstream'; uuid: string; upstream: string[] }
  | { kind: 'rename_block'; uuid: string; to: string }
  | { kind: 'move_block'; uuid: string; index: number }
  | { kind: 'set_configuration'; uuid: string; configuration: JsonObject }
  /** A key (or nested key, e.g. configuration.destination) of one block entry; null removes it. */
  | { kind: 'set_block_value'; uuid: string; path: string[]; value: JsonValue | null }
  | { kind: 'set_variable'; name: string; value: JsonValue }
  | { kind: 'remove_variable'; name: string }
  /** Add-on blocks (`conditionals:` / `callbacks:` entries); `upstream` lists the blocks they are attached to. */
  | { kind: 'add_add_on'; list: AddOnList; uuid: string; upstream: string[] }
  | { kind: 'remove_add_on'; list: AddOnList; uuid: string }
  | { kind: 'set_add_on_upstream'; list: AddOnList; uuid: string; upstream: string[] };

type AddOnList = (typeof ADD_ON_LISTS)[keyof typeof ADD_ON_LISTS];

function listSeq(doc: Document, key: 'blocks' | AddOnList) {
  let seq = doc.get(key, true);
  // Only a missing or empty list is created; anything else the user wrote is not ours to replace.
  if (seq === undefined || (isScalar(seq) && seq.value === null)) {
    doc.set(key, doc.createNode([]));
    seq = doc.get(key, true);
  }
  if (!isSeq(seq)) throw new Error(`${key} is not a list`);
  return seq;
}

const blockSeq = (doc: Document) => listSeq(doc, 'blocks');

/** The add-on lists that are there (a missing list is not created just to be read). */
function addOnSeqs(doc: Document) {
  return Object.values(ADD_ON_LISTS).flatMap((key) => {
    const seq = doc.get(key, true);
    return isSeq(seq) ? [seq] : [];
  });
}

function findAddOn(doc: Document, list: AddOnList, uuid: string): { node: YAMLMap; index: number } {
  const seq = listSeq(doc, list);
  const index = seq.items.findIndex((item) => isMap(item) && item.get('uuid') === uuid);
  const node = seq.items[index];
  if (index < 0 || !isMap(node)) throw new Error(`"${uuid}" is not in this pipeline's ${list}`);
  return { node, index };
}

/** Refills a map's `upstream_blocks` list in place, so its comment and style and the comments of entries that stay survive. */
function refillUpstream(doc: Document, node: YAMLMap, upstream: readonly string[]): void {
  const ups = node.get('upstream_blocks', true);
  if (isSeq(ups)) {
    const old = ups.items;
    ups.items = upstream.map((name) => {
      const i = old.findIndex((u) => isScalar(u) && u.value === name);
      return i < 0 ? doc.createNode(name) : old.splice(i, 1)[0];
    });
  } else {
    node.set('upstream_blocks', doc.createNode([...upstream], { flow: true }));
  }
}

function findBlock(doc: Document, uuid: string): { node: YAMLMap; index: number } {
  const seq = blockSeq(doc);
  const index = seq.items.findIndex((item) => isMap(item) && item.get('uuid') === uuid);
  const node = seq.items[index];
  if (index < 0 || !isMap(node)) throw new Error(`block "${uuid}" is not in this pipeline`);
  return { node, index };
}

function applyOne(doc: Document, edit: PipelineEdit): void {
  switch (edit.kind) {
    case 'add_block': {
      const seq = blockSeq(doc);
      if (seq.items.some((item) => isMap(item) && item.get('uuid') === edit.uuid)) {
        throw new Error(`block "${edit.uuid}" already exists`);
      }
      const node = doc.createNode({
        uuid: edit.uuid,
        type: edit.type,
        language: edit.language,
        upstream_blocks: edit.upstream,
        configuration: edit.configuration ?? {},
      });
      const at = edit.index ?? seq.items.length;
      seq.items.splice(Math.max(0, Math.min(at, seq.items.length)), 0, node);
      return;
    }
    case 'remove_block': {
      const { index } = findBlock(doc, edit.uuid);
      blockSeq(doc).items.splice(index, 1);
      // A removed block cannot stay anyone's upstream, nor keep add-ons attached to it.
      for (const item of [...blockSeq(doc).items, ...addOnSeqs(doc).flatMap((seq) => seq.items)]) {
        if (!isMap(item)) continue;
        const ups = item.get('upstream_blocks', true);
        if (isSeq(ups)) ups.items = ups.items.filter((u) => (isScalarValue(u) ?? u) !== edit.uuid);
      }
      return;
    }
    case 'set_upstream':
      refillUpstream(doc, findBlock(doc, edit.uuid).node, edit.upstream);
      return;
    case 'rename_block': {
      const { node } = findBlock(doc, edit.uuid);
      if (edit.to !== edit.uuid && blockSeq(doc).items.some((item) => isMap(item) && item.get('uuid') === edit.to)) {
        // Two blocks with one uuid would share a file and an output table.
        throw new Error(`block "${edit.to}" already exists`);
      }
      node.set('uuid', edit.to);
      // Downstream blocks and the add-ons attached to it follow the new name.
      for (const item of [...blockSeq(doc).items, ...addOnSeqs(doc).flatMap((seq) => seq.items)]) {
        if (!isMap(item)) continue;
        const ups = item.get('upstream_blocks', true);
        if (!isSeq(ups)) continue;
        // Change the scalar in place so a comment on the list item survives the rename.
        for (const u of ups.items) if (isScalar(u) && u.value === edit.uuid) u.value = edit.to;
      }
      return;
    }
    case 'move_block': {
      const seq = blockSeq(doc);
      const { index } = findBlock(doc, edit.uuid);
      const [node] = seq.items.splice(index, 1);
      seq.items.splice(Math.max(0, Math.min(edit.index, seq.items.length)), 0, node);
      return;
    }
    case 'set_configuration': {
      findBlock(doc, edit.uuid).node.set('configuration', doc.createNode(edit.configuration));
      return;
    }
    case 'set_block_value': {
      const { node } = findBlock(doc, edit.uuid);
      if (edit.value === null) {
        // Removing what is not there is a no-op (YAML's deleteIn throws on a missing parent).
        const parentPath = edit.path.slice(0, -1);
        const parent = parentPath.length > 0 ? node.getIn(parentPath, true) : node;
        const last = edit.path[edit.path.length - 1];
        if (!isMap(parent) || last === undefined) return;
        parent.delete(last);
        // An emptied `configuration:` stays as {} (Mage writes it); other emptied parents go.
        if (parent !== node && parent.items.length === 0 && parentPath.join('.') !== 'configuration') node.deleteIn(parentPath);
      } else {
        setIn(doc, node, edit.path, edit.value);
      }
      return;
    }
    case 'set_variable': {
      const vars = doc.get('variables', true);
      // `variables:` left empty (null) or missing becomes a map; a flow map `{ }` stays a flow map.
      if (!isMap(vars)) doc.set('variables', doc.createNode({ [edit.name]: edit.value }));
      else setIn(doc, vars, [edit.name], edit.value);
      return;
    }
    case 'remove_variable': {
      const vars = doc.get('variables', true);
      if (!isMap(vars) || !vars.has(edit.name)) throw new Error(`variable "${edit.name}" is not in this pipeline`);
      vars.delete(edit.name);
      return;
    }
    case 'add_add_on': {
      const seq = listSeq(doc, edit.list);
      if (seq.items.some((item) => isMap(item) && item.get('uuid') === edit.uuid)) throw new Error(`"${edit.uuid}" is already in this pipeline's ${edit.list}`);
      // Mage's add-on entry: the same keys as a block's, with the blocks it is attached to as upstream.
      seq.items.push(doc.createNode({ uuid: edit.uuid, language: 'typescript', upstream_blocks: edit.upstream, configuration: {} }));
      return;
    }
    case 'remove_add_on': {
      const { index } = findAddOn(doc, edit.list, edit.uuid);
      listSeq(doc, edit.list).items.splice(index, 1);
      return;
    }
    case 'set_add_on_upstream':
      refillUpstream(doc, findAddOn(doc, edit.list, edit.uuid).node, edit.upstream);
      return;
  }
}

/** Sets a value under a map, keeping the comment of a scalar it replaces, and creating missing parents. */
function setIn(doc: Document, map: YAMLMap, path: readonly string[], value: JsonValue): void {
  const [head, ...rest] = path;
  if (head === undefined) return;
  if (rest.length === 0) {
    const old = map.get(head, true);
    if (isScalar(old) && (value === null || typeof value !== 'object')) old.value = value;
    else map.set(head, doc.createNode(value));
    return;
  }
  let child = map.get(head, true);
  if (!isMap(child)) {
    map.set(head, doc.createNode({}));
    child = map.get(head, true);
  }
  if (isMap(child)) setIn(doc, child, rest, value);
}

function isScalarValue(node: unknown): unknown {
  if (node && typeof node === 'object' && 'value' in node) return node.value;
  return undefined;
}

/** Applies the edits in order and returns the new file text; throws with a clear message on a bad edit. */
export function editPipelineYaml(text: string, edits: readonly PipelineEdit[]): string {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new Error(`cannot edit malformed YAML: ${doc.errors[0]?.message ?? ''}`);
  for (const edit of edits) applyOne(doc, edit);
  return doc.toString();
}
