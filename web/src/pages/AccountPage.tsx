import { type FormEvent, useState } from "react";
import { unwrap } from "../api/problems";
import { ErrorMessage } from "../components/ErrorMessage";
import { useOrgo } from "../context";
import { useAction } from "../hooks";

/** Your profile, and changing your password (which ends every session, this one too). */
export function AccountPage() {
  const { api, me, session } = useOrgo();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const { busy, error, run } = useAction();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const changed = await run(async () => {
      unwrap(
        await api.POST("/api/v1/users/me/password", {
          body: { current_password: current, new_password: next },
        }),
      );
      return true;
    });
    setCurrent("");
    setNext("");
    if (changed) session.end("password-changed");
  };

  return (
    <section aria-labelledby="account-title">
      <h1 id="account-title">Account</h1>
      <p>
        Logged in as <strong>{me.email}</strong>
        {me.is_admin ? " (admin)" : ""}.
      </p>
      <form onSubmit={submit} className="card" aria-labelledby="password-title">
        <h2 id="password-title">Change password</h2>
        <label>
          Current password
          <input
            type="password"
            autoComplete="current-password"
            required
            value={current}
            onChange={(event) => setCurrent(event.target.value)}
          />
        </label>
        <label>
          New password (at least 12 characters)
          <input
            type="password"
            autoComplete="new-password"
            required
            minLength={12}
            value={next}
            aria-invalid={error?.fields.new_password ? true : undefined}
            onChange={(event) => setNext(event.target.value)}
          />
        </label>
        <ErrorMessage error={error} />
        <p className="hint">Every session ends when the password changes, this one too.</p>
        <button type="submit" className="primary" disabled={busy}>
          Change password
        </button>
      </form>
    </section>
  );
}
