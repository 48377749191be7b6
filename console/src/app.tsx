// The console's frame: the panels' navigation and their routes. Each view has a URL (deep links, the back button).
import { LocationProvider, Route, Router, useLocation } from 'preact-iso';
import { Overview } from './panels/overview';
import { Runs } from './panels/runs';
import { RunDetail } from './panels/run-detail';
import { Workers } from './panels/workers';
import { WorkerDetail } from './panels/worker-detail';
import { Patches } from './panels/patches';
import { PatchDetail } from './panels/patch-detail';
import { Tools } from './panels/tools';
import { Costs } from './panels/costs';
import { Session, useSignOut, useViewer } from './session/session';

const PANELS = [
  { path: '/', label: 'Overview' },
  { path: '/runs', label: 'Runs' },
  { path: '/workers', label: 'Workers' },
  { path: '/patches', label: 'Patches' },
  { path: '/tools', label: 'Tools' },
  { path: '/costs', label: 'Costs' },
];

/** The panel a path belongs to: /runs/ID is under Runs. */
const panelOf = (path: string) => PANELS.findLast((panel) => (panel.path === '/' ? path === '/' : path === panel.path || path.startsWith(`${panel.path}/`)));

function Nav() {
  const { path } = useLocation();
  const current = panelOf(path);
  const viewer = useViewer();
  const signOut = useSignOut();
  return (
    <header>
      <nav aria-label="Panels">
        <ul>
          {PANELS.map((panel) => (
            <li key={panel.path}>
              <a href={panel.path} aria-current={panel === current ? 'page' : undefined}>
                {panel.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <p class="viewer">
        {viewer.tokenName} ({viewer.scopes.join(', ')}){' '}
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </p>
    </header>
  );
}

export function App() {
  return (
    <Session>
      <LocationProvider>
        <Nav />
        <main>
          <Router>
            <Route path="/" component={Overview} />
            <Route path="/runs" component={Runs} />
            <Route path="/runs/:id" component={RunDetail} />
            <Route path="/workers" component={Workers} />
            <Route path="/workers/:id" component={WorkerDetail} />
            <Route path="/patches" component={Patches} />
            <Route path="/patches/:id" component={PatchDetail} />
            <Route path="/tools" component={Tools} />
            <Route path="/costs" component={Costs} />
            <Route default component={() => <h1>No such page</h1>} />
          </Router>
        </main>
      </LocationProvider>
    </Session>
  );
}
