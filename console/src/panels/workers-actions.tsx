// Pause, resume and shut down: the buttons a worker's state allows, disabled (with the reason shown once by the
// panel, see ACTIONS_REASON_ID) for a token without the operate scope. The state shown changes when the server
// pushes it (workerStateChanged), not from the mutation's answer.
import { useState } from 'preact/hooks';
import { useMutation } from '@urql/preact';
import { graphql } from '../graphql';
import { shortId } from './runs-row';

const PauseWorker = graphql(`
  mutation ConsolePauseWorker($id: ID!) {
    pauseWorker(input: { id: $id }) {
      worker {
        id
      }
    }
  }
`);
const ResumeWorker = graphql(`
  mutation ConsoleResumeWorker($id: ID!) {
    resumeWorker(input: { id: $id }) {
      worker {
        id
      }
    }
  }
`);
const ShutdownWorker = graphql(`
  mutation ConsoleShutdownWorker($id: ID!) {
    shutdownWorker(input: { id: $id }) {
      worker {
        id
      }
    }
  }
`);

/** A worker's state, as the schema's WorkerState enum (gql.tada's type of an enum). */
export type WorkerState = ReturnType<typeof graphql.scalar<'WorkerState'>>;

/** STOPPED and CRASHED are final: nothing to steer. */
export const isFinal = (state: WorkerState) => state === 'STOPPED' || state === 'CRASHED';

/** The element that says why the actions are disabled: a disabled button cannot take focus, so the reason is visible text. */
export const ACTIONS_REASON_ID = 'worker-actions-refused';

export function ActionsRefused({ refused }: { refused: string | null }) {
  if (!refused) return null;
  return (
    <p class="hint" id={ACTIONS_REASON_ID}>
      Pause, resume and shut down are disabled: {refused}.
    </p>
  );
}

export function WorkerActions({ id, state, refused }: { id: string; state: WorkerState; refused: string | null }) {
  const [pause, runPause] = useMutation(PauseWorker);
  const [resume, runResume] = useMutation(ResumeWorker);
  const [shutdown, runShutdown] = useMutation(ShutdownWorker);
  const [failed, setFailed] = useState<string | null>(null);
  const busy = pause.fetching || resume.fetching || shutdown.fetching;
  const act = (run: (variables: { id: string }) => Promise<{ error?: { message: string } }>) => {
    setFailed(null);
    void run({ id }).then(({ error }) => error && setFailed(error.message.replace(/^\[\w+\] /, '')));
  };
  const name = shortId(id);
  const button = (label: string, run: Parameters<typeof act>[0]) => (
    <button
      type="button"
      disabled={Boolean(refused) || busy}
      aria-describedby={refused ? ACTIONS_REASON_ID : undefined}
      title={refused ?? undefined}
      aria-label={`${label} worker ${name}`}
      onClick={() => act(run)}
    >
      {label}
    </button>
  );
  if (isFinal(state)) return null;
  return (
    <span class="worker-actions">
      {state === 'PAUSED' ? button('Resume', runResume) : button('Pause', runPause)} {button('Shut down', runShutdown)}
      {failed && (
        <span role="alert" class="refused">
          {failed}
        </span>
      )}
    </span>
  );
}
