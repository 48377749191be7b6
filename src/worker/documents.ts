// Every operation the worker sends, as typed documents (gql.tada): a field the gateway's schema lacks fails
// `npm run typecheck`.
import { graphql } from './graphql.js';

export const RegisterWorker = graphql(`
  mutation RegisterWorker($tools: [String!], $config: WorkerConfigInput, $metadata: JSON) {
    registerWorker(input: { type: EXECUTOR, tools: $tools, config: $config, metadata: $metadata }) {
      worker {
        id
        state
      }
    }
  }
`);

export const Heartbeat = graphql(`
  mutation Heartbeat($workerId: ID!) {
    heartbeat(input: { workerId: $workerId }) {
      worker {
        id
        state
      }
    }
  }
`);

export const ShutdownWorker = graphql(`
  mutation ShutdownWorker($id: ID!) {
    shutdownWorker(input: { id: $id }) {
      worker {
        id
        state
      }
    }
  }
`);

export const WorkerStateChanged = graphql(`
  subscription WorkerStateChanged($workerId: ID!) {
    workerStateChanged(workerId: $workerId) {
      to
      reason
    }
  }
`);

const TaskFields = graphql(`
  fragment WorkerTask on Task {
    id
    name
    kind
    toolId
    timeoutSeconds
    payload
    run {
      id
      projectId
      state
    }
    executionRequest {
      id
      document
    }
  }
`);

/** routedOnly: a task routed to no tool (a createTask task) has no command here to run, so it is left to other workers. */
export const ClaimTask = graphql(
  `
    mutation ClaimTask($workerId: ID!) {
      claimTask(input: { workerId: $workerId, routedOnly: true }) {
        task {
          ...WorkerTask
        }
      }
    }
  `,
  [TaskFields],
);

/** The tasks the gateway says a worker holds: after a lost claimTask reply, the one it leased is among them. */
export const HeldTasks = graphql(
  `
    query HeldTasks($workerId: ID!) {
      tasks(filter: { workerId: $workerId, states: [RUNNING] }, first: 100) {
        edges {
          node {
            ...WorkerTask
          }
        }
      }
    }
  `,
  [TaskFields],
);

export const Tools = graphql(`
  query Tools {
    tools {
      id
      command
      limits {
        timeoutSeconds
      }
    }
  }
`);

export const RunState = graphql(`
  query RunState($id: ID!) {
    run(id: $id) {
      id
      state
    }
  }
`);

export const RunStateChanged = graphql(`
  subscription RunStateChanged($runId: ID!) {
    runStateChanged(runId: $runId) {
      id
      state
    }
  }
`);

export const CompleteTask = graphql(`
  mutation CompleteTask($workerId: ID!, $taskId: ID!, $success: Boolean!, $seconds: Float, $result: JSON, $error: String) {
    completeTask(input: { workerId: $workerId, taskId: $taskId, success: $success, executionTimeSeconds: $seconds, result: $result, error: $error }) {
      task {
        id
        state
      }
    }
  }
`);

export const StartStep = graphql(`
  mutation StartStep($runId: ID!, $toolId: String!, $executionRequestId: String) {
    startStep(input: { runId: $runId, toolId: $toolId, executionRequestId: $executionRequestId }) {
      step {
        id
      }
    }
  }
`);

export const CompleteStep = graphql(`
  mutation CompleteStep($id: ID!, $state: StepCompletionState!, $exitCode: Int, $outputPatchIds: [String!], $errorLog: String) {
    completeStep(input: { id: $id, state: $state, exitCode: $exitCode, outputPatchIds: $outputPatchIds, errorLog: $errorLog }) {
      step {
        id
        state
      }
    }
  }
`);

export const AppendStepLog = graphql(`
  mutation AppendStepLog($stepId: ID!, $offset: Int!, $stream: StepLogStream!, $text: String!) {
    appendStepLog(input: { stepId: $stepId, offset: $offset, stream: $stream, text: $text }) {
      size
      duplicate
    }
  }
`);

export const CreateTestGate = graphql(`
  mutation CreateTestGate($runId: ID!, $name: String!, $executionRequestId: String) {
    createTestGate(input: { runId: $runId, name: $name, type: UNIT_TESTS, executionRequestId: $executionRequestId, criteria: { maxFailures: 0 } }) {
      gate {
        id
      }
    }
  }
`);

export const StartTestGate = graphql(`
  mutation StartTestGate($id: ID!, $command: String) {
    startTestGate(input: { id: $id, command: $command }) {
      gate {
        id
      }
    }
  }
`);

export const CompleteTestGate = graphql(`
  mutation CompleteTestGate($id: ID!, $exitCode: Int!, $results: TestGateResultsInput) {
    completeTestGate(input: { id: $id, exitCode: $exitCode, results: $results }) {
      gate {
        id
        state
      }
    }
  }
`);

export const RecordCost = graphql(`
  mutation RecordCost($runId: ID!, $executionRequestId: ID, $resourceType: ResourceType!, $resourceName: String, $amount: Decimal!, $currency: String!, $metadata: CostMetadataInput) {
    recordCost(input: { runId: $runId, executionRequestId: $executionRequestId, resourceType: $resourceType, resourceName: $resourceName, amount: $amount, currency: $currency, metadata: $metadata }) {
      cost {
        id
      }
    }
  }
`);

export const CreatePatch = graphql(`
  mutation CreatePatch($projectId: String!, $runId: ID!, $executionRequestId: String, $targetRepo: String!, $baseCommit: String, $diffText: String!, $summary: String, $origin: JSON) {
    createPatch(
      input: {
        projectId: $projectId
        runId: $runId
        executionRequestId: $executionRequestId
        targetRepo: $targetRepo
        baseCommit: $baseCommit
        diffText: $diffText
        summary: $summary
        origin: $origin
      }
    ) {
      patch {
        id
      }
      ledgerEntry {
        id
        state
      }
    }
  }
`);

export const ValidatePatch = graphql(`
  mutation ValidatePatch($ledgerId: ID!) {
    validatePatch(input: { ledgerId: $ledgerId }) {
      ledgerEntry {
        id
        state
        validation {
          validationErrors
        }
      }
    }
  }
`);

export const QueuePatch = graphql(`
  mutation QueuePatch($ledgerId: ID!) {
    queuePatch(input: { ledgerId: $ledgerId }) {
      ledgerEntry {
        id
        state
      }
    }
  }
`);

export const RecordPatchApply = graphql(`
  mutation RecordPatchApply($ledgerId: ID!, $workspacePath: String, $appliedFiles: [String!]) {
    recordPatchApply(input: { ledgerId: $ledgerId, success: true, workspacePath: $workspacePath, appliedFiles: $appliedFiles }) {
      ledgerEntry {
        id
        state
      }
    }
  }
`);
