import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Session } from "../api/session";
import { BASE, FakeServer, json } from "../test/fakeServer";
import { LoginPage } from "./LoginPage";

describe("LoginPage", () => {
  it("says why the login failed and empties the password field", async () => {
    const server = new FakeServer().on("POST /api/v1/auth/token", () =>
      json({ detail: "too many failed login attempts; retry later" }, 429, { "Retry-After": "30" }),
    );
    const session = new Session({ baseUrl: BASE, fetch: server.fetch, locks: null });
    render(<LoginPage session={session} reason={null} />);
    await userEvent.type(screen.getByLabelText("E-mail"), "ada@example.com");
    await userEvent.type(screen.getByLabelText("Password"), "secret-password-1");
    await userEvent.click(screen.getByRole("button", { name: "Log in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "Too many attempts. Try again in 30 seconds.",
    );
    expect(screen.getByLabelText("Password")).toHaveValue("");
    expect(document.body.textContent).not.toContain("secret-password-1");
  });

  it("tells a user whose session ended why they are here", () => {
    const session = new Session({ baseUrl: BASE, fetch: new FakeServer().fetch, locks: null });
    render(<LoginPage session={session} reason="expired" />);
    expect(screen.getByRole("status")).toHaveTextContent("Your session has ended. Log in again.");
  });
});
