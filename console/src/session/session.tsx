// The session: the token screen until a token is accepted, then the console with that token's client and scopes.
// A refused token (at the start, or later: revoked or expired) comes back here with the server's message.
import { createContext, type ComponentChildren } from 'preact';
import { useCallback, useContext, useEffect, useState } from 'preact/hooks';
import { Provider } from '@urql/preact';
import { createApi, type Api } from '../api';
import type { Viewer } from './scopes';
import { TokenScreen } from './token-screen';
import { forgetToken, storeToken, storedToken } from './token-store';
import { ViewerQuery } from './viewer';

type State = { phase: 'token'; message: string | null } | { phase: 'checking' } | { phase: 'in'; api: Api; viewer: Viewer };

interface SignedIn {
  api: Api;
  viewer: Viewer;
  signOut(): void;
}

const SessionContext = createContext<SignedIn | null>(null);

function useSignedIn(): SignedIn {
  const session = useContext(SessionContext);
  if (!session) throw new Error('used outside a signed-in console');
  return session;
}

/** The signed-in client, whose socket live panels watch (live.ts). */
export const useApi = () => useSignedIn().api;
/** The token's name and scopes, for panels to enable or disable actions with the reason (scopes.ts missingScope). */
export const useViewer = () => useSignedIn().viewer;
export const useSignOut = () => useSignedIn().signOut;

export function Session({ children }: { children: ComponentChildren }) {
  const [state, setState] = useState<State>(() => (storedToken() ? { phase: 'checking' } : { phase: 'token', message: null }));

  const signIn = useCallback(async (token: string, remember: boolean | null) => {
    setState({ phase: 'checking' });
    let refused: string | null = null;
    const api = createApi(token, (message) => {
      refused ??= message;
      api.dispose();
      forgetToken();
      setState({ phase: 'token', message });
    });
    const { data, error } = await api.urql.query(ViewerQuery, {}).toPromise();
    if (refused) return;
    if (!data) {
      api.dispose();
      setState({ phase: 'token', message: error?.message.replace(/^\[\w+\] /, '') ?? 'the gateway did not answer' });
      return;
    }
    // A remembered token stays where it was; a new one goes where the user chose.
    if (remember !== null) storeToken(token, remember);
    setState({ phase: 'in', api, viewer: data.viewer });
  }, []);

  useEffect(() => {
    const token = storedToken();
    if (token) void signIn(token, null);
  }, [signIn]);

  if (state.phase === 'checking') return <p class="checking">Checking the token…</p>;
  if (state.phase === 'token') return <TokenScreen message={state.message} onSubmit={(token, remember) => void signIn(token, remember)} />;
  const { api, viewer } = state;
  const signOut = () => {
    api.dispose();
    forgetToken();
    setState({ phase: 'token', message: null });
  };
  return (
    <SessionContext.Provider value={{ api, viewer, signOut }}>
      <Provider value={api.urql}>{children}</Provider>
    </SessionContext.Provider>
  );
}
