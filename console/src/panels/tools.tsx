import { useRef, useState } from 'preact/hooks';
import { useClient, useQuery } from '@urql/preact';
import { graphql, type ResultOf } from '../graphql';
import { useEvents } from '../live';
import { ToolRow, ToolRowFields, type ToolRowData } from './tools-row';

const ToolsQuery = graphql(
  `
    query ConsoleTools {
      tools {
        ...ConsoleToolRow
      }
    }
  `,
  [ToolRowFields],
);

/** The tools again after a reconnect: a document of its own, so its answer does not replace the list urql holds for ToolsQuery. */
const ToolsCatchUp = graphql(
  `
    query ConsoleToolsCatchUp {
      tools {
        ...ConsoleToolRow
      }
    }
  `,
  [ToolRowFields],
);

const ToolChanges = graphql(
  `
    subscription ConsoleToolChanges {
      toolChanged {
        ...ConsoleToolRow
      }
    }
  `,
  [ToolRowFields],
);

type Data = ResultOf<typeof ToolsQuery>;

/** The rows shown: the list as read, with events and catch-ups applied; `read` is the answer they started from. */
interface Shown {
  read: Data | undefined;
  tools: readonly ToolRowData[] | undefined;
}
const fresh = (read: Data | undefined): Shown => ({ read, tools: read?.tools });

/** The router's tools with their breakers and measurements; each row live through toolChanged, never polled. */
export function Tools() {
  const client = useClient();
  const [{ data, error }] = useQuery({ query: ToolsQuery });
  const [stored, setShown] = useState<Shown>(fresh(undefined));
  const shown = stored.read === data ? stored : fresh(data);
  const current = useRef(data);
  current.current = data;
  const update = (change: (tools: readonly ToolRowData[]) => readonly ToolRowData[]) =>
    setShown((previous) => {
      const base = previous.read === current.current ? previous : fresh(current.current);
      return base.tools ? { ...base, tools: change(base.tools) } : base;
    });

  useEvents(
    ToolChanges,
    {},
    // In place: a tool not listed (a newer configuration's) shows after a reconnect's re-read or a reload.
    (event) => update((tools) => tools.map((tool) => (tool.id === event.toolChanged.id ? event.toolChanged : tool))),
    () => {
      // Events may have been missed while the socket was down, or a new configuration set: take the list as it is now.
      void client
        .query(ToolsCatchUp, {})
        .toPromise()
        .then(({ data: now }) => now && update(() => now.tools));
    },
  );

  const tools = shown.tools;
  return (
    <>
      <h1>Tools</h1>
      {error && <p role="alert">{error.message}</p>}
      {tools ? (
        tools.length ? (
          <table class="tools">
            <caption>
              {tools.length} {tools.length === 1 ? 'tool' : 'tools'} of the router configuration in force
            </caption>
            <thead>
              <tr>
                <th scope="col">Tool</th>
                <th scope="col">Circuit</th>
                <th scope="col">Success rate</th>
                <th scope="col">p50 latency</th>
                <th scope="col">In flight</th>
                <th scope="col">Domains</th>
              </tr>
            </thead>
            <tbody>
              {tools.map((tool) => (
                <ToolRow key={tool.id} tool={tool} />
              ))}
            </tbody>
          </table>
        ) : (
          <p class="hint">
            No tools yet: they come from a router configuration. Set one with the <code>setRouterConfig</code> mutation (see <code>examples/router_config.v1.json</code>), or run{' '}
            <code>npm run seed</code> for the demo's.
          </p>
        )
      ) : (
        !error && <p>Loading…</p>
      )}
    </>
  );
}
