// The UI's few pages as paths (/tasks, /users, ...), with the History API: the servers
// answer every such path with index.html (orgo.api.web, web/nginx.conf).
import { useSyncExternalStore } from "react";

export const ROUTES = ["/tasks", "/notifications", "/users", "/account"] as const;
export type Route = (typeof ROUTES)[number];

const listeners = new Set<() => void>();
window.addEventListener("popstate", () => {
  for (const listener of listeners) listener();
});

export function navigate(path: Route): void {
  if (window.location.pathname === path) return;
  window.history.pushState(null, "", path);
  for (const listener of listeners) listener();
}

function currentRoute(): Route {
  const path = window.location.pathname.replace(/\/+$/, "");
  return (ROUTES as readonly string[]).includes(path) ? (path as Route) : "/tasks";
}

export function useRoute(): Route {
  return useSyncExternalStore((listener) => {
    listeners.add(listener);
    return () => listeners.delete(listener);
  }, currentRoute);
}
