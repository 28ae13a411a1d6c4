import { render, screen } from "@testing-library/react";
import { App } from "./App";
import { FakeServer, json, ME, signedIn } from "./test/fakeServer";

describe("App", () => {
  it("shows the tasks of a signed-in user, and the login page once the session is refused", async () => {
    const fake = new FakeServer()
      .on("GET /api/v1/users/me", () => json(ME))
      .on("GET /api/v1/tasks", () => json({ items: [], total: 0, limit: 20, offset: 0 }))
      .on("GET /api/v1/notifications", () => json([]));
    const session = signedIn(fake);
    render(<App session={session} />);
    expect(await screen.findByRole("heading", { name: "Tasks" })).toBeInTheDocument();
    expect(screen.getByText(ME.email)).toBeInTheDocument();

    // The login was revoked elsewhere: the next refresh is refused and the session ends.
    fake.validAccess.clear();
    for (const token of ["refresh-1", "refresh-2", "refresh-3"]) fake.rotated.add(token);
    for (const path of ["/account", "/tasks"]) {
      window.history.pushState(null, "", path);
      window.dispatchEvent(new PopStateEvent("popstate"));
      await screen.findByRole("heading", { name: path === "/tasks" ? "Tasks" : "Account" });
    }
    expect(await screen.findByRole("heading", { name: "Log in" })).toBeInTheDocument();
    expect(screen.getByRole("status")).toHaveTextContent("Your session has ended. Log in again.");
  });
});
