// The typed API client: openapi-fetch over the types generated from the app's OpenAPI
// document (schema.ts), sending every request through the session's fetch.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";
import type { Session } from "./session";

export type Api = ReturnType<typeof createApi>;
export type Task = components["schemas"]["TaskOut"];
export type TaskStatus = components["schemas"]["TaskStatus"];
export type TaskCreate = components["schemas"]["TaskCreate"];
export type TaskUpdate = components["schemas"]["TaskUpdate"];
export type User = components["schemas"]["UserOut"];
export type Activity = components["schemas"]["ActivityOut"];
export type Notification = components["schemas"]["NotificationOut"];

export function createApi(session: Session, baseUrl = window.location.origin) {
  return createClient<paths>({ baseUrl, fetch: session.fetch });
}
