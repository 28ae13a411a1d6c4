import type { Notification } from "../api/client";
import { ErrorMessage } from "../components/ErrorMessage";
import { dateTime } from "../format";
import type { Resource } from "../hooks";

/** The user's notifications, newest first; the shell polls them, so new ones appear here. */
export function NotificationsPage({ notifications }: { notifications: Resource<Notification[]> }) {
  const items = notifications.data ?? [];
  return (
    <section aria-labelledby="notifications-title">
      <h1 id="notifications-title">Notifications</h1>
      <ErrorMessage error={notifications.error} />
      {!notifications.loading && items.length === 0 && <p>No notifications yet.</p>}
      <ul className="notifications" aria-live="polite">
        {items.map((item) => (
          <li key={item.id} className="card">
            <h2>{item.subject}</h2>
            <p className="body">{item.body}</p>
            <p className="meta">
              <time dateTime={item.created_at}>{dateTime(item.created_at)}</time>
            </p>
          </li>
        ))}
      </ul>
    </section>
  );
}
