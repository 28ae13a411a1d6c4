import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { Task, TaskStatus } from "../api/client";
import { statusTransitions, taskStatuses } from "../api/schema";
import { STATUS_LABELS } from "../format";
import { FakeServer, json, ME, renderSignedIn } from "../test/fakeServer";
import { TaskDetail } from "./TaskDetail";

const ID = "22222222-2222-4222-8222-222222222222";

function task(status: TaskStatus, changes: Partial<Task> = {}): Task {
  return {
    id: ID,
    title: "Write the runbook",
    description: "",
    status,
    owner_id: ME.id,
    assignee_id: null,
    due_at: null,
    created_at: "2026-12-01T09:00:00Z",
    updated_at: "2026-12-01T09:00:00Z",
    ...changes,
  };
}

function server(current: Task): FakeServer {
  return new FakeServer()
    .on("GET /api/v1/tasks/{id}", () => json(current))
    .on("GET /api/v1/tasks/{id}/activity", () =>
      json([
        {
          event_id: "e1",
          event_type: "task.updated",
          actor_id: ME.id,
          details: {
            changes: { status: { from: "todo", to: "in_progress" } },
            status: "in_progress",
          },
          created_at: "2026-12-01T09:05:00Z",
        },
      ]),
    );
}

const show = (fake: FakeServer) =>
  renderSignedIn(
    <TaskDetail taskId={ID} users={undefined} onChanged={() => {}} onClose={() => {}} />,
    fake,
  );

describe("TaskDetail", () => {
  it.each(taskStatuses)("offers only the moves the API allows from %s", async (status) => {
    show(server(task(status)));
    const moves = await screen.findByRole("group", { name: "Change status" });
    const offered = within(moves)
      .getAllByRole("button")
      .map((button) => button.textContent);
    expect(offered.sort()).toEqual(
      statusTransitions[status].map((s) => `Move to ${STATUS_LABELS[s]}`).sort(),
    );
  });

  it("sends the chosen move and shows a refused one in words", async () => {
    const fake = server(task("todo")).on("PATCH /api/v1/tasks/{id}", () =>
      json(
        { detail: "status: cannot move a task from done to in_progress; allowed from done: todo" },
        409,
      ),
    );
    show(fake);
    await userEvent.click(await screen.findByRole("button", { name: "Move to In progress" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "Cannot move a task from done to in_progress; allowed from done: todo",
    );
    const [patch] = fake
      .calls(`/api/v1/tasks/${ID}`)
      .filter((request) => request.method === "PATCH");
    expect(await patch?.json()).toEqual({ status: "in_progress" });
  });

  it("shows the worker's activity in words", async () => {
    show(server(task("in_progress")));
    const activity = await screen.findByRole("list", { name: "Activity" });
    expect(
      await within(activity).findByText(/Updated status: To do → In progress/),
    ).toBeInTheDocument();
  });

  it("names the field a 422 refuses next to it", async () => {
    const fake = server(task("todo")).on("PATCH /api/v1/tasks/{id}", () =>
      json(
        { detail: [{ loc: ["body", "title"], msg: "String should have at most 200 characters" }] },
        422,
      ),
    );
    show(fake);
    await userEvent.click(await screen.findByRole("button", { name: "Save changes" }));
    const title = screen.getByLabelText("Title");
    expect(
      await screen.findByText("String should have at most 200 characters"),
    ).toBeInTheDocument();
    expect(title).toHaveAttribute("aria-invalid", "true");
  });

  it("lets only the owner or an admin delete", async () => {
    show(server(task("todo", { owner_id: "someone-else" })));
    await screen.findByRole("group", { name: "Change status" });
    expect(screen.queryByRole("button", { name: "Delete task" })).toBeNull();
  });
});
