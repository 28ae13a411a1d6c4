import { type FormEvent, useState } from "react";
import type { Activity, Task, TaskStatus, TaskUpdate, User } from "../api/client";
import { unwrap } from "../api/problems";
import { statusTransitions, taskStatuses } from "../api/schema";
import { useOrgo } from "../context";
import { dateTime, person, STATUS_LABELS, toLocalInput } from "../format";
import { useAction, useResource } from "../hooks";
import { ErrorMessage } from "./ErrorMessage";
import { type TaskDraft, TaskFields, taskBody } from "./TaskFields";

// How often an open task's activity is asked for (the worker records it after each change).
export const ACTIVITY_POLL_MS = 2_000;

interface TaskDetailProps {
  taskId: string;
  users: Map<string, User> | undefined;
  onChanged: () => void;
  onClose: () => void;
}

/** One task: edit it, move its status (only the moves the API allows), delete it, and
 * follow its activity as the worker records it. */
export function TaskDetail({ taskId, users, onChanged, onClose }: TaskDetailProps) {
  const { api, me } = useOrgo();
  const path = { params: { path: { task_id: taskId } } };
  const task = useResource(
    (signal) => api.GET("/api/v1/tasks/{task_id}", { ...path, signal }).then(unwrap),
    [api, taskId],
  );
  const activity = useResource(
    (signal) => api.GET("/api/v1/tasks/{task_id}/activity", { ...path, signal }).then(unwrap),
    [api, taskId],
    ACTIVITY_POLL_MS,
  );
  const action = useAction();
  const [confirmDelete, setConfirmDelete] = useState(false);

  const update = (body: TaskUpdate) =>
    action.run(async () => {
      unwrap(await api.PATCH("/api/v1/tasks/{task_id}", { ...path, body }));
      task.reload();
      activity.reload();
      onChanged();
    });
  const remove = () =>
    action.run(async () => {
      unwrap(await api.DELETE("/api/v1/tasks/{task_id}", path));
      onChanged();
      onClose();
    });

  const current = task.data;
  return (
    <section className="task-detail card" aria-labelledby="task-detail-title">
      <div className="detail-head">
        <h2 id="task-detail-title">{current ? current.title : "Task"}</h2>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      <ErrorMessage error={task.error} />
      {current && (
        <>
          <p className="meta">
            <span className={`status status-${current.status}`}>
              {STATUS_LABELS[current.status]}
            </span>{" "}
            · owned by {person(current.owner_id, me, users)} · created{" "}
            {dateTime(current.created_at)}
          </p>
          <StatusMoves
            task={current}
            busy={action.busy}
            onMove={(status) => void update({ status })}
          />
          <ErrorMessage error={action.error} />
          <EditForm
            key={current.updated_at}
            task={current}
            users={users}
            onSave={update}
            error={action.error}
          />
          {(me.is_admin || current.owner_id === me.id) && (
            <div className="danger">
              {confirmDelete ? (
                <>
                  <span>Delete this task for everyone?</span>
                  <button
                    type="button"
                    className="destructive"
                    onClick={() => void remove()}
                    disabled={action.busy}
                  >
                    Yes, delete
                  </button>
                  <button type="button" onClick={() => setConfirmDelete(false)}>
                    Keep it
                  </button>
                </>
              ) : (
                <button
                  type="button"
                  className="destructive"
                  onClick={() => setConfirmDelete(true)}
                >
                  Delete task
                </button>
              )}
            </div>
          )}
        </>
      )}
      <h3>Activity</h3>
      <ErrorMessage error={activity.error} />
      <ol className="activity" aria-live="polite" aria-label="Activity">
        {(activity.data ?? []).map((entry) => (
          <li key={entry.event_id}>
            <time dateTime={entry.created_at}>{dateTime(entry.created_at)}</time>{" "}
            {describe(entry, me, users)}
          </li>
        ))}
      </ol>
      {activity.data?.length === 0 && <p className="hint">Nothing recorded yet.</p>}
    </section>
  );
}

function StatusMoves({
  task,
  busy,
  onMove,
}: {
  task: Task;
  busy: boolean;
  onMove: (status: TaskStatus) => void;
}) {
  // In the workflow's order (todo, in progress, done, cancelled), not the table's.
  const moves = taskStatuses.filter((status) => statusTransitions[task.status].includes(status));
  return (
    <fieldset className="moves">
      <legend className="visually-hidden">Change status</legend>
      {moves.map((status) => (
        <button key={status} type="button" disabled={busy} onClick={() => onMove(status)}>
          Move to {STATUS_LABELS[status]}
        </button>
      ))}
    </fieldset>
  );
}

interface EditFormProps {
  task: Task;
  users: Map<string, User> | undefined;
  onSave: (body: TaskUpdate) => Promise<unknown>;
  error: ReturnType<typeof useAction>["error"];
}

function EditForm({ task, users, onSave, error }: EditFormProps) {
  const { me } = useOrgo();
  const [draft, setDraft] = useState<TaskDraft>({
    title: task.title,
    description: task.description,
    assigneeId: task.assignee_id ?? "",
    dueAt: toLocalInput(task.due_at),
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    void onSave(taskBody(draft));
  };

  return (
    <form onSubmit={submit} aria-label="Edit task">
      <TaskFields
        idPrefix="edit"
        draft={draft}
        onChange={setDraft}
        me={me}
        users={users}
        error={error}
      />
      <button type="submit" className="primary">
        Save changes
      </button>
    </form>
  );
}

/** An activity entry in words: "Created", "Status: To do → In progress". */
export function describe(entry: Activity, me: User, users: Map<string, User> | undefined): string {
  const kind = entry.event_type.replace(/^task\./, "");
  const changes = (entry.details as { changes?: Record<string, { from: unknown; to: unknown }> })
    .changes;
  if (kind !== "updated" || !changes) return kind.charAt(0).toUpperCase() + kind.slice(1);
  const parts = Object.entries(changes).map(([field, { from, to }]) => {
    const show = (value: unknown) => {
      if (field === "status") return STATUS_LABELS[value as TaskStatus] ?? String(value);
      if (field === "assignee_id") return person(value as string | null, me, users);
      if (field === "due_at") return value ? dateTime(String(value)) : "none";
      return null;
    };
    const shown = [show(from), show(to)];
    const label = field.replace(/_id$/, "").replace(/_at$/, "").replace(/_/g, " ");
    return shown[1] === null ? `${label} changed` : `${label}: ${shown[0]} → ${shown[1]}`;
  });
  return `Updated ${parts.join("; ")}`;
}
