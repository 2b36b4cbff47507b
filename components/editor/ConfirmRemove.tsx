'use client';

/**
 * "Remove X from this pipeline?" for a block or an add-on: removing it edits metadata.yaml only;
 * its file stays in the project (it can be added again).
 */
export function ConfirmRemove(props: { name: string; file: string; busy?: boolean; onRemove: () => Promise<void>; onCancel: () => void }) {
  return (
    <div role="alertdialog" aria-label={`Delete ${props.name}?`} className="confirm">
      Remove {props.name} from this pipeline? Its file {props.file} stays in the project.
      <button type="button" disabled={props.busy} onClick={() => void props.onRemove().then(props.onCancel)}>
        Delete
      </button>
      <button type="button" onClick={props.onCancel}>
        Cancel
      </button>
    </div>
  );
}
