import { cloneElement } from "react";
import type { TaskCreate, User } from "../api/client";
import type { ApiError } from "../api/problems";
import { fromLocalInput, person } from "../format";

export interface TaskDraft {
  title: string;
  description: string;
  assigneeId: string;
  dueAt: string; // an <input type="datetime-local"> value, "" for none
}

export const EMPTY_DRAFT: TaskDraft = { title: "", description: "", assigneeId: "", dueAt: "" };

/** The fields as the API takes them (create and update alike): no assignee or due date is null. */
export function taskBody(draft: TaskDraft): Required<TaskCreate> {
  return {
    title: draft.title,
    description: draft.description,
    assignee_id: draft.assigneeId || null,
    due_at: fromLocalInput(draft.dueAt),
  };
}

interface TaskFieldsProps {
  idPrefix: string;
  draft: TaskDraft;
  onChange: (draft: TaskDraft) => void;
  me: User;
  /** Admins pick among every user; others between nobody, themselves and the current one. */
  users: Map<string, User> | undefined;
  error: ApiError | null;
}

/** The fields a task is created and edited with, each with the API's message about it. */
export function TaskFields({ idPrefix, draft, onChange, me, users, error }: TaskFieldsProps) {
  const set = (change: Partial<TaskDraft>) => onChange({ ...draft, ...change });
  const candidates = new Map<string, string>([
    ["", "Nobody"],
    [me.id, `Me (${me.email})`],
  ]);
  for (const user of users?.values() ?? []) {
    if (user.id !== me.id && user.is_active) candidates.set(user.id, user.email);
  }
  if (draft.assigneeId && !candidates.has(draft.assigneeId)) {
    candidates.set(draft.assigneeId, person(draft.assigneeId, me, users));
  }
  const problem = (field: string) => error?.fields[field];
  return (
    <>
      <Labelled id={`${idPrefix}-title`} label="Title" problem={problem("title")}>
        <input
          id={`${idPrefix}-title`}
          required
          maxLength={200}
          value={draft.title}
          onChange={(event) => set({ title: event.target.value })}
        />
      </Labelled>
      <Labelled id={`${idPrefix}-description`} label="Description" problem={problem("description")}>
        <textarea
          id={`${idPrefix}-description`}
          rows={3}
          maxLength={10_000}
          value={draft.description}
          onChange={(event) => set({ description: event.target.value })}
        />
      </Labelled>
      <div className="row">
        <Labelled id={`${idPrefix}-assignee`} label="Assignee" problem={problem("assignee_id")}>
          <select
            id={`${idPrefix}-assignee`}
            value={draft.assigneeId}
            onChange={(event) => set({ assigneeId: event.target.value })}
          >
            {[...candidates].map(([id, label]) => (
              <option key={id} value={id}>
                {label}
              </option>
            ))}
          </select>
        </Labelled>
        <Labelled id={`${idPrefix}-due`} label="Due" problem={problem("due_at")}>
          <input
            id={`${idPrefix}-due`}
            type="datetime-local"
            value={draft.dueAt}
            onChange={(event) => set({ dueAt: event.target.value })}
          />
        </Labelled>
      </div>
    </>
  );
}

interface LabelledProps {
  id: string;
  label: string;
  problem: string | undefined;
  children: React.ReactElement<React.AriaAttributes>;
}

function Labelled({ id, label, problem, children }: LabelledProps) {
  return (
    <div className={problem ? "field invalid" : "field"}>
      <label htmlFor={id}>{label}</label>
      {problem
        ? cloneElement(children, { "aria-invalid": true, "aria-describedby": `${id}-error` })
        : children}
      {problem && (
        <span className="field-error" id={`${id}-error`}>
          {problem}
        </span>
      )}
    </div>
  );
}
