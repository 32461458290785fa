/**
 * The login page: a form that posts an API token to `POST /login`, which sets the session cookie
 * and sends the browser to the dashboard.
 */
import { Layout } from './layout';

export function LoginPage(props: { invalidToken?: boolean }) {
  return (
    <Layout title="Log in" page="login">
      <h1>Log in</h1>
      {props.invalidToken ? (
        <div class="problem" role="alert">
          <p>The token matches no configured token. Check it for typos and log in again.</p>
        </div>
      ) : null}
      <form method="post" action="/login" class="stacked">
        <label for="login-token">API token</label>
        <p class="hint" id="login-token-hint">
          The secret of a token from GRAPHIUM_API_TOKENS or GRAPHIUM_API_TOKENS_FILE, or the contents of the
          api-token file in the Graphium server's data folder (GRAPHIUM_DATA_DIR, .data by default).
        </p>
        <input
          type="password"
          id="login-token"
          name="token"
          required
          autocomplete="current-password"
          aria-describedby="login-token-hint"
        />
        <div class="actions">
          <button type="submit">Log in</button>
        </div>
      </form>
    </Layout>
  );
}
