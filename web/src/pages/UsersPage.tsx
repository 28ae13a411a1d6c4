import { type FormEvent, useState } from "react";
import type { User } from "../api/client";
import { unwrap } from "../api/problems";
import { ErrorMessage } from "../components/ErrorMessage";
import { Pager } from "../components/Pager";
import { useOrgo } from "../context";
import { dateTime } from "../format";
import { useAction, useResource } from "../hooks";

export const USERS_PAGE_SIZE = 20;

/** Admins: every user, page by page; create one; deactivate or reactivate one. */
export function UsersPage() {
  const { api, me } = useOrgo();
  const [offset, setOffset] = useState(0);
  const users = useResource(
    (signal) =>
      api
        .GET("/api/v1/users", { params: { query: { limit: USERS_PAGE_SIZE, offset } }, signal })
        .then(unwrap),
    [api, offset],
  );
  const action = useAction();

  const setActive = (user: User, isActive: boolean) =>
    action.run(async () => {
      unwrap(
        await api.PATCH("/api/v1/users/{user_id}", {
          params: { path: { user_id: user.id } },
          body: { is_active: isActive },
        }),
      );
      users.reload();
    });

  return (
    <section aria-labelledby="users-title">
      <h1 id="users-title">Users</h1>
      <NewUserForm onCreated={users.reload} />
      <ErrorMessage error={users.error ?? action.error} />
      {users.data && (
        <>
          <table className="users">
            <caption className="visually-hidden">Users</caption>
            <thead>
              <tr>
                <th scope="col">E-mail</th>
                <th scope="col">Role</th>
                <th scope="col">Status</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {users.data.items.map((user) => (
                <tr key={user.id}>
                  <td>{user.email}</td>
                  <td>{user.is_admin ? "Admin" : "User"}</td>
                  <td>{user.is_active ? "Active" : "Deactivated"}</td>
                  <td>{dateTime(user.created_at)}</td>
                  <td>
                    {user.id !== me.id && (
                      <button
                        type="button"
                        disabled={action.busy}
                        onClick={() => void setActive(user, !user.is_active)}
                        aria-label={`${user.is_active ? "Deactivate" : "Reactivate"} ${user.email}`}
                      >
                        {user.is_active ? "Deactivate" : "Reactivate"}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager
            label="Users pages"
            offset={offset}
            limit={USERS_PAGE_SIZE}
            total={users.data.total}
            onChange={setOffset}
          />
        </>
      )}
    </section>
  );
}

function NewUserForm({ onCreated }: { onCreated: () => void }) {
  const { api } = useOrgo();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [isAdmin, setIsAdmin] = useState(false);
  const { busy, error, run } = useAction();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const created = await run(async () =>
      unwrap(await api.POST("/api/v1/users", { body: { email, password, is_admin: isAdmin } })),
    );
    setPassword("");
    if (created) {
      setEmail("");
      setIsAdmin(false);
      onCreated();
    }
  };

  return (
    <form onSubmit={submit} className="card" aria-labelledby="new-user-title">
      <h2 id="new-user-title">New user</h2>
      <div className="row">
        <label>
          E-mail
          <input
            type="email"
            autoComplete="off"
            required
            value={email}
            onChange={(event) => setEmail(event.target.value)}
          />
        </label>
        <label>
          Initial password (at least 12 characters)
          <input
            type="password"
            autoComplete="new-password"
            required
            minLength={12}
            value={password}
            onChange={(event) => setPassword(event.target.value)}
          />
        </label>
      </div>
      <label className="check">
        <input
          type="checkbox"
          checked={isAdmin}
          onChange={(event) => setIsAdmin(event.target.checked)}
        />
        Admin
      </label>
      <ErrorMessage error={error} />
      <button type="submit" className="primary" disabled={busy}>
        Create user
      </button>
    </form>
  );
}
