// needs_admin.js: what the admin pages (keys.js, hosts.js) show to a key that is not an admin
// key, instead of calling routes that would answer 403.
import { h, replace } from "../dom.js";
import { who } from "../session.js";
import { pageHeader } from "../ui.js";

// Draws the page title and the message: what (e.g. "Managing API keys") needs an admin key.
export function needsAdmin(main, title, what) {
    replace(main, pageHeader(title),
        h("div", { class: "card needs-admin", role: "note", "data-testid": "needs-admin" },
            h("h2", null, "This page needs an admin key"),
            h("p", null, `${what} is for admin keys only, and you are signed in with a key of user `,
                h("strong", null, who()?.user_id || "?"), " that is not one."),
            h("p", { class: "hint" }, "Sign out and sign in with an admin key: the first one is in the data "
                + "directory's ", h("code", null, "admin.key"), "; ", h("code", null, "hearthd keys create --admin"),
            " on the host makes more.")));
}
