import { useEffect, useMemo } from "react";
import { type Api, createApi, type Notification } from "./api/client";
import { unwrap } from "./api/problems";
import type { Session } from "./api/session";
import { ErrorMessage } from "./components/ErrorMessage";
import { OrgoContext, useOrgo } from "./context";
import { useResource, useSessionState } from "./hooks";
import { AccountPage } from "./pages/AccountPage";
import { LoginPage } from "./pages/LoginPage";
import { NotificationsPage } from "./pages/NotificationsPage";
import { TasksPage } from "./pages/TasksPage";
import { UsersPage } from "./pages/UsersPage";
import { navigate, type Route, useRoute } from "./router";

// How often the notifications are asked for, on every page.
export const NOTIFICATIONS_POLL_MS = 5_000;

export function App({ session }: { session: Session }) {
  const state = useSessionState(session);
  const api = useMemo(() => createApi(session), [session]);

  useEffect(() => {
    const onStorage = (event: StorageEvent) => session.storageChanged(event);
    window.addEventListener("storage", onStorage);
    return () => window.removeEventListener("storage", onStorage);
  }, [session]);

  if (!state.signedIn) return <LoginPage session={session} reason={state.reason} />;
  return <SignedIn session={session} api={api} />;
}

function SignedIn({ session, api }: { session: Session; api: Api }) {
  const me = useResource((signal) => api.GET("/api/v1/users/me", { signal }).then(unwrap), [api]);
  if (me.data === undefined) {
    return (
      <main className="loading">
        {me.error ? <ErrorMessage error={me.error} /> : <p role="status">Loading…</p>}
      </main>
    );
  }
  return (
    <OrgoContext.Provider value={{ session, api, me: me.data }}>
      <Shell />
    </OrgoContext.Provider>
  );
}

function Shell() {
  const orgo = useOrgo();
  const route = useRoute();
  const notifications = useResource(
    (signal) =>
      orgo.api
        .GET("/api/v1/notifications", { params: { query: { limit: 20 } }, signal })
        .then(unwrap),
    [orgo.api],
    NOTIFICATIONS_POLL_MS,
  );
  const links: [Route, string][] = [
    ["/tasks", "Tasks"],
    ["/notifications", `Notifications${badge(notifications.data)}`],
    ...(orgo.me.is_admin ? ([["/users", "Users"]] as [Route, string][]) : []),
    ["/account", "Account"],
  ];
  return (
    <>
      <header className="top">
        <span className="brand">Orgo</span>
        <nav aria-label="Main">
          {links.map(([path, label]) => (
            <a
              key={path}
              href={path}
              aria-current={route === path ? "page" : undefined}
              onClick={(event) => {
                event.preventDefault();
                navigate(path);
              }}
            >
              {label}
            </a>
          ))}
        </nav>
        <span className="who">{orgo.me.email}</span>
        <button type="button" onClick={() => void orgo.session.logout()}>
          Log out
        </button>
      </header>
      <main>
        {route === "/tasks" && <TasksPage />}
        {route === "/notifications" && <NotificationsPage notifications={notifications} />}
        {route === "/users" && (orgo.me.is_admin ? <UsersPage /> : <AdminsOnly />)}
        {route === "/account" && <AccountPage />}
      </main>
    </>
  );
}

function badge(items: Notification[] | undefined): string {
  return items?.length ? ` (${items.length === 20 ? "20+" : items.length})` : "";
}

function AdminsOnly() {
  return (
    <p className="message error" role="alert">
      Only admins manage users.
    </p>
  );
}
