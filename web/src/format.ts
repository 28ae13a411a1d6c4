// How values are shown: dates in the reader's locale and time zone, statuses and people in words.
import type { TaskStatus, User } from "./api/client";

const DATE_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function dateTime(iso: string | null | undefined): string {
  return iso ? DATE_TIME.format(new Date(iso)) : "";
}

/** An ISO date-time as the value of an <input type="datetime-local"> (local time). */
export function toLocalInput(iso: string | null | undefined): string {
  if (!iso) return "";
  const date = new Date(iso);
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

/** A datetime-local value as the API's ISO 8601 date-time with a time zone (UTC), or null. */
export function fromLocalInput(value: string): string | null {
  return value ? new Date(value).toISOString() : null;
}

export const STATUS_LABELS: Record<TaskStatus, string> = {
  todo: "To do",
  in_progress: "In progress",
  done: "Done",
  cancelled: "Cancelled",
};

/** A user id in words: "you", the e-mail when known (admins list users), else a short id. */
export function person(id: string | null | undefined, me: User, users?: Map<string, User>): string {
  if (!id) return "nobody";
  if (id === me.id) return "you";
  return users?.get(id)?.email ?? `user ${id.slice(0, 8)}`;
}
