import { useState } from 'preact/hooks';

interface Props {
  /** Why the user is here again (the server's message), or null on a first visit. */
  message: string | null;
  onSubmit(token: string, remember: boolean): void;
}

/** Asks for a token once: kept for this tab, or across visits with "remember me". */
export function TokenScreen({ message, onSubmit }: Props) {
  const [remember, setRemember] = useState(false);
  return (
    <main class="token-screen">
      <h1>uet-gateway console</h1>
      {message && (
        <p role="alert" class="refused">
          {message}
        </p>
      )}
      <form
        onSubmit={(event) => {
          event.preventDefault();
          const token = String(new FormData(event.currentTarget).get('token') ?? '').trim();
          if (token) onSubmit(token.replace(/^Bearer\s+/i, ''), remember);
        }}
      >
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autocomplete="off" required autofocus placeholder="uet_…" />
        <label class="remember">
          <input type="checkbox" checked={remember} onChange={(event) => setRemember(event.currentTarget.checked)} /> Remember me on this browser
        </label>
        <button type="submit">Open the console</button>
      </form>
      <p class="hint">
        Create a token with <code>uet-gateway token create</code>. It is kept for this tab only unless you tick "Remember me".
      </p>
    </main>
  );
}
