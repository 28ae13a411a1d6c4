import { type FormEvent, useState } from "react";
import type { EndReason, Session } from "../api/session";
import { ErrorMessage } from "../components/ErrorMessage";
import { useAction } from "../hooks";

const ENDED: Record<EndReason, string> = {
  "logged-out": "You have logged out.",
  expired: "Your session has ended. Log in again.",
  "password-changed": "Your password was changed. Log in with the new one.",
};

export function LoginPage({ session, reason }: { session: Session; reason: EndReason | null }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const { busy, error, run } = useAction();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    await run(() => session.login(email, password));
    // Never kept longer than needed, whatever the outcome.
    setPassword("");
  };

  return (
    <main className="login">
      <h1>Orgo</h1>
      <form onSubmit={submit} className="card" aria-labelledby="login-title">
        <h2 id="login-title">Log in</h2>
        {reason && !error && (
          <p className="message" role="status">
            {ENDED[reason]}
          </p>
        )}
        <label>
          E-mail
          <input
            type="email"
            name="username"
            autoComplete="username"
            required
            value={email}
            onChange={(event) => setEmail(event.target.value)}
          />
        </label>
        <label>
          Password
          <input
            type="password"
            name="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(event) => setPassword(event.target.value)}
          />
        </label>
        <ErrorMessage error={error} />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Logging in…" : "Log in"}
        </button>
      </form>
    </main>
  );
}
