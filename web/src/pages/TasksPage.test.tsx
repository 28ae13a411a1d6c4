import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { Task } from "../api/client";
import { FakeServer, json, ME, renderSignedIn } from "../test/fakeServer";
import { TASKS_PAGE_SIZE, TasksPage } from "./TasksPage";

const TOTAL = 45;

function tasks(offset: number, limit: number): Task[] {
  return Array.from({ length: Math.max(0, Math.min(limit, TOTAL - offset)) }, (_, i) => ({
    id: `00000000-0000-4000-8000-${String(offset + i).padStart(12, "0")}`,
    title: `Task ${offset + i + 1}`,
    description: "",
    status: "todo",
    owner_id: ME.id,
    assignee_id: null,
    due_at: null,
    created_at: "2026-12-01T09:00:00Z",
    updated_at: "2026-12-01T09:00:00Z",
  }));
}

function server(): FakeServer {
  return new FakeServer().on("GET /api/v1/tasks", (request) => {
    const query = new URL(request.url).searchParams;
    const offset = Number(query.get("offset") ?? 0);
    const limit = Number(query.get("limit") ?? 20);
    return json({ items: tasks(offset, limit), total: TOTAL, limit, offset });
  });
}

const listed = (fake: FakeServer) =>
  fake.calls("/api/v1/tasks").map((request) => new URL(request.url).searchParams);

describe("TasksPage", () => {
  it("pages through the list with the API's limit and offset", async () => {
    const fake = server();
    renderSignedIn(<TasksPage />, fake);
    expect(await screen.findByText("Task 1")).toBeInTheDocument();
    expect(screen.getByText(`1–${TASKS_PAGE_SIZE} of ${TOTAL}`)).toBeInTheDocument();
    await userEvent.click(screen.getAllByRole("button", { name: "Next" })[0] as HTMLElement);
    expect(await screen.findByText("Task 21")).toBeInTheDocument();
    expect(listed(fake).at(-1)?.get("offset")).toBe("20");
    expect(screen.getByText(`21–40 of ${TOTAL}`)).toBeInTheDocument();
  });

  it("filters by status and by assignee, from the first page again", async () => {
    const fake = server();
    renderSignedIn(<TasksPage />, fake);
    await screen.findByText("Task 1");
    await userEvent.click(screen.getAllByRole("button", { name: "Next" })[0] as HTMLElement);
    await screen.findByText("Task 21");
    await userEvent.selectOptions(screen.getByLabelText("Status"), "done");
    await userEvent.selectOptions(
      screen.getAllByLabelText("Assignee").at(-1) as HTMLElement,
      ME.id,
    );
    const last = listed(fake).at(-1);
    expect(last?.get("status")).toBe("done");
    expect(last?.get("assignee_id")).toBe(ME.id);
    expect(last?.get("offset")).toBe("0");
  });

  it("marks the first time the list is visible, for the web benchmark", async () => {
    performance.clearMarks();
    renderSignedIn(<TasksPage />, server());
    await screen.findByText("Task 1");
    expect(performance.getEntriesByName("orgo:task-list-visible")).toHaveLength(1);
  });
});
