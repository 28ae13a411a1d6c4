import { type FormEvent, useEffect, useState } from "react";
import type { Task, TaskStatus, User } from "../api/client";
import { unwrap } from "../api/problems";
import { taskStatuses } from "../api/schema";
import { ErrorMessage } from "../components/ErrorMessage";
import { Pager } from "../components/Pager";
import { TaskDetail } from "../components/TaskDetail";
import { EMPTY_DRAFT, type TaskDraft, TaskFields, taskBody } from "../components/TaskFields";
import { useOrgo } from "../context";
import { dateTime, person, STATUS_LABELS } from "../format";
import { useAction, useResource } from "../hooks";

export const TASKS_PAGE_SIZE = 20;
// The first time the list shows tasks: what the web benchmark measures from navigation.
export const TASK_LIST_VISIBLE_MARK = "orgo:task-list-visible";

interface Filters {
  status: TaskStatus | "";
  assigneeId: string;
}

/** Tasks you own or are assigned (every task, for admins): filter, page, create, open one. */
export function TasksPage() {
  const { api, me } = useOrgo();
  const [filters, setFilters] = useState<Filters>({ status: "", assigneeId: "" });
  const [offset, setOffset] = useState(0);
  const [selected, setSelected] = useState<string | null>(null);
  const users = useUsers();
  const tasks = useResource(
    (signal) =>
      api
        .GET("/api/v1/tasks", {
          params: {
            query: {
              limit: TASKS_PAGE_SIZE,
              offset,
              ...(filters.status ? { status: filters.status } : {}),
              ...(filters.assigneeId ? { assignee_id: filters.assigneeId } : {}),
            },
          },
          signal,
        })
        .then(unwrap),
    [api, filters, offset],
  );

  useEffect(() => {
    if (tasks.data && performance.getEntriesByName(TASK_LIST_VISIBLE_MARK).length === 0) {
      performance.mark(TASK_LIST_VISIBLE_MARK);
    }
  }, [tasks.data]);

  const filter = (change: Partial<Filters>) => {
    setFilters({ ...filters, ...change });
    setOffset(0);
  };
  const changed = () => tasks.reload();

  return (
    <div className="tasks-layout">
      <section aria-labelledby="tasks-title" className="tasks-list">
        <h1 id="tasks-title">Tasks</h1>
        <NewTaskForm
          users={users}
          onCreated={(task) => {
            setSelected(task.id);
            changed();
          }}
        />
        <form className="filters" aria-label="Filter tasks" onSubmit={(e) => e.preventDefault()}>
          <label>
            Status
            <select
              value={filters.status}
              onChange={(event) => filter({ status: event.target.value as TaskStatus | "" })}
            >
              <option value="">Any</option>
              {taskStatuses.map((status) => (
                <option key={status} value={status}>
                  {STATUS_LABELS[status]}
                </option>
              ))}
            </select>
          </label>
          <label>
            Assignee
            <select
              value={filters.assigneeId}
              onChange={(event) => filter({ assigneeId: event.target.value })}
            >
              <option value="">Anyone</option>
              <option value={me.id}>Me</option>
              {[...(users?.values() ?? [])]
                .filter((user) => user.id !== me.id)
                .map((user) => (
                  <option key={user.id} value={user.id}>
                    {user.email}
                  </option>
                ))}
            </select>
          </label>
        </form>
        <ErrorMessage error={tasks.error} />
        {tasks.data && (
          <>
            {tasks.data.items.length === 0 ? (
              <p>No tasks here yet.</p>
            ) : (
              <ul className="task-list" aria-label="Tasks">
                {tasks.data.items.map((task) => (
                  <li key={task.id}>
                    <button
                      type="button"
                      className="task-row"
                      aria-pressed={selected === task.id}
                      onClick={() => setSelected(task.id)}
                    >
                      <span className="title">{task.title}</span>
                      <span className={`status status-${task.status}`}>
                        {STATUS_LABELS[task.status]}
                      </span>
                      <span className="meta">
                        {person(task.assignee_id, me, users) === "nobody"
                          ? "Unassigned"
                          : `Assigned to ${person(task.assignee_id, me, users)}`}
                        {task.due_at ? ` · due ${dateTime(task.due_at)}` : ""}
                      </span>
                    </button>
                  </li>
                ))}
              </ul>
            )}
            <Pager
              label="Task pages"
              offset={offset}
              limit={TASKS_PAGE_SIZE}
              total={tasks.data.total}
              onChange={setOffset}
            />
          </>
        )}
      </section>
      {selected && (
        <TaskDetail
          key={selected}
          taskId={selected}
          users={users}
          onChanged={changed}
          onClose={() => setSelected(null)}
        />
      )}
    </div>
  );
}

/** Admins' view of every user (the assignee choices); others see none (the API refuses). */
function useUsers(): Map<string, User> | undefined {
  const { api, me } = useOrgo();
  const users = useResource(
    async (signal) =>
      me.is_admin
        ? unwrap(await api.GET("/api/v1/users", { params: { query: { limit: 100 } }, signal }))
            .items
        : [],
    [api, me.is_admin],
  );
  return users.data && new Map(users.data.map((user) => [user.id, user]));
}

function NewTaskForm({
  users,
  onCreated,
}: {
  users: Map<string, User> | undefined;
  onCreated: (task: Task) => void;
}) {
  const { api, me } = useOrgo();
  const [draft, setDraft] = useState<TaskDraft>(EMPTY_DRAFT);
  const [open, setOpen] = useState(false);
  const { busy, error, run } = useAction();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const task = await run(async () =>
      unwrap(await api.POST("/api/v1/tasks", { body: taskBody(draft) })),
    );
    if (task) {
      setDraft(EMPTY_DRAFT);
      setOpen(false);
      onCreated(task);
    }
  };

  return (
    <details
      className="card new-task"
      open={open}
      onToggle={(event) => setOpen(event.currentTarget.open)}
    >
      <summary>New task</summary>
      <form onSubmit={submit} aria-label="New task">
        <TaskFields
          idPrefix="new"
          draft={draft}
          onChange={setDraft}
          me={me}
          users={users}
          error={error}
        />
        <ErrorMessage error={error} />
        <button type="submit" className="primary" disabled={busy}>
          Create task
        </button>
      </form>
    </details>
  );
}
