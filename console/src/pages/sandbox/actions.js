// actions.js: the sandbox header's lifecycle buttons (not built yet).
export function render() {}
