// What an operator may do to a run: cancel it (with a reason) and add a note. A token without OPERATE sees them
// disabled with the reason; the mutation's refusal is shown as it comes.
import { useState } from 'preact/hooks';
import { useMutation } from '@urql/preact';
import { errorText } from '../api';
import { graphql } from '../graphql';
import { missingScope } from '../session/scopes';
import { useViewer } from '../session/session';
import type { RunHeaderData } from './run-header';

const CancelRun = graphql(`
  mutation ConsoleCancelRun($id: ID!, $reason: String) {
    cancelRun(input: { id: $id, reason: $reason }) {
      run {
        state
      }
    }
  }
`);

const AddRunNote = graphql(`
  mutation ConsoleAddRunNote($runId: ID!, $message: String!) {
    addRunNote(input: { runId: $runId, message: $message }) {
      event {
        cursor
      }
    }
  }
`);

const ACTIVE = new Set(['PENDING', 'RUNNING']);

export function RunActions({ run }: { run: RunHeaderData }) {
  const viewer = useViewer();
  const refused = missingScope(viewer, 'OPERATE');
  const [cancelState, cancel] = useMutation(CancelRun);
  const [noteState, addNote] = useMutation(AddRunNote);
  const [reason, setReason] = useState('');
  const [note, setNote] = useState('');
  const [noteProblem, setNoteProblem] = useState<string | null>(null);
  const cantCancel = refused ?? (ACTIVE.has(run.state) ? null : `the run has ended (${run.state})`);

  const onCancel = (event: Event) => {
    event.preventDefault();
    void cancel({ id: run.id, reason: reason.trim() || null });
  };
  const onNote = async (event: Event) => {
    event.preventDefault();
    if (!note.trim()) {
      setNoteProblem('Write the note first: it cannot be empty.');
      return;
    }
    setNoteProblem(null);
    const result = await addNote({ runId: run.id, message: note });
    if (!result.error) setNote('');
  };

  return (
    <section aria-labelledby="run-actions" class="run-actions">
      <h2 id="run-actions">Actions</h2>
      <form aria-label="Cancel the run" onSubmit={onCancel}>
        <label for="cancel-reason">Reason for canceling</label>
        <input id="cancel-reason" value={reason} disabled={!!cantCancel} onInput={(e) => setReason(e.currentTarget.value)} aria-describedby={cantCancel ? 'cancel-why' : undefined} />
        <button type="submit" disabled={!!cantCancel || cancelState.fetching}>
          Cancel run
        </button>
        {cantCancel && (
          <p id="cancel-why" class="hint">
            Cancel is unavailable: {cantCancel}.
          </p>
        )}
        {cancelState.error && <p role="alert">{errorText(cancelState.error)}</p>}
      </form>
      <form aria-label="Add a note" onSubmit={(event) => void onNote(event)}>
        <label for="run-note">Note</label>
        <input id="run-note" value={note} disabled={!!refused} onInput={(e) => setNote(e.currentTarget.value)} aria-describedby={refused ? 'note-why' : undefined} />
        <button type="submit" disabled={!!refused || noteState.fetching}>
          Add note
        </button>
        {refused && (
          <p id="note-why" class="hint">
            Adding a note is unavailable: {refused}.
          </p>
        )}
        {(noteProblem || noteState.error) && <p role="alert">{noteProblem ?? (noteState.error && errorText(noteState.error))}</p>}
      </form>
    </section>
  );
}
