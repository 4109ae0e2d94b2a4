// session.js: the signed-in API key and who it is. The key lives in sessionStorage only (this
// browser tab's session; gone when it closes), never in a cookie or localStorage, and is sent
// as the API's credential header (api.js). Nothing here talks to the server except signIn.

const KEY = "hearth.key";
const WHO = "hearth.who";
const FLASH = "hearth.flash";

export function apiKey() {
    return sessionStorage.getItem(KEY);
}

// The whoami of the key: {user_id, admin, stats}; null when signed out.
export function who() {
    try {
        return JSON.parse(sessionStorage.getItem(WHO) || "null");
    } catch {
        return null;
    }
}

export function isAdmin() {
    return !!who()?.admin;
}

export function store(key, whoami) {
    sessionStorage.setItem(KEY, key);
    sessionStorage.setItem(WHO, JSON.stringify(whoami));
}

// Forgets the key and goes to the sign-in page, which shows message (if any) once.
export function signOut(message) {
    sessionStorage.removeItem(KEY);
    sessionStorage.removeItem(WHO);
    if (message) sessionStorage.setItem(FLASH, message);
    else sessionStorage.removeItem(FLASH);
    if (location.hash !== "#/signin") location.hash = "#/signin";
    else window.dispatchEvent(new HashChangeEvent("hashchange"));
}

// The sign-in page's one-time message.
export function takeFlash() {
    const m = sessionStorage.getItem(FLASH);
    sessionStorage.removeItem(FLASH);
    return m;
}
