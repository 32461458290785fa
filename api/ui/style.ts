/**
 * The dashboard's style sheet, inlined into every page so the login page is styled before the
 * browser has a session. Status colours pass WCAG AA contrast on white, and every coloured
 * badge carries its status as text.
 */
export const DASHBOARD_CSS = `
:root { color-scheme: light; --ink: #1b1b1b; --muted: #4a4a4a; --line: #c8c8c8; --focus: #1a56c4; }
* { box-sizing: border-box; }
body { font: 16px/1.5 system-ui, sans-serif; color: var(--ink); margin: 0; background: #fafafa; }
a { color: #0b4fb3; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.skip-link { position: absolute; left: -999px; top: 0; background: #fff; padding: .5rem; }
.skip-link:focus { left: .5rem; }
header.site { background: #20252e; color: #fff; padding: .5rem 1rem; display: flex; gap: 2rem; align-items: center; flex-wrap: wrap; }
header.site a { color: #fff; }
header.site .brand { font-weight: 700; font-size: 1.2rem; text-decoration: none; }
header.site nav ul { list-style: none; display: flex; gap: 1.25rem; margin: 0; padding: 0; flex-wrap: wrap; }
header.site nav a[aria-current="page"] { font-weight: 700; text-decoration-thickness: 3px; }
main { max-width: 84rem; margin: 0 auto; padding: 1rem; }
footer.site { max-width: 84rem; margin: 0 auto; padding: 1rem; color: var(--muted); font-size: .9rem; }
h1 { font-size: 1.6rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.25rem; margin: 1.5rem 0 .5rem; }
h3 { font-size: 1.05rem; margin: .75rem 0 .25rem; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { border: 1px solid var(--line); padding: .35rem .5rem; text-align: left; vertical-align: top; }
th { background: #eef0f3; }
code, .mono { font-family: ui-monospace, monospace; font-size: .92em; }
.status { display: inline-block; border-radius: .8rem; padding: 0 .6rem; font-weight: 600; border: 1px solid; white-space: nowrap; }
.status::before { content: ""; display: inline-block; width: .6rem; height: .6rem; border-radius: 50%; margin-right: .35rem; background: currentColor; }
.tone-good { color: #0f5e24; background: #e3f4e7; }
.tone-busy { color: #7a4a00; background: #fff3d6; }
.tone-bad { color: #a1121b; background: #fde7e8; }
.tone-quiet { color: #454b55; background: #eceef1; }
.card { background: #fff; border: 1px solid var(--line); border-radius: .4rem; padding: .75rem 1rem; margin: .75rem 0; }
.hosts-map { display: grid; grid-template-columns: repeat(auto-fill, minmax(20rem, 1fr)); gap: 1rem; }
.container-list { list-style: none; margin: 0; padding: 0; }
.container-list > li { border-top: 1px solid var(--line); padding: .5rem 0; }
.container-list > li:first-child { border-top: 0; }
.muted { color: var(--muted); }
.field-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(18rem, 1fr)); gap: 0 1.5rem; }
.table-wrap { overflow-x: auto; }
form.stacked label, fieldset label { display: block; font-weight: 600; margin-top: .5rem; }
fieldset { border: 1px solid var(--line); border-radius: .4rem; margin: 1rem 0; padding: .5rem 1rem 1rem; background: #fff; }
legend { font-weight: 700; padding: 0 .25rem; }
input[type="text"], input[type="password"], input[type="number"], select, textarea { font: inherit; padding: .3rem .4rem; border: 1px solid #767676; border-radius: .25rem; width: 100%; max-width: 40rem; background: #fff; }
textarea { font-family: ui-monospace, monospace; font-size: .9rem; }
.choice { display: flex; gap: .5rem; align-items: baseline; margin: .35rem 0; }
.choice label { display: inline; margin: 0; }
.hint { color: var(--muted); font-size: .9rem; margin: .1rem 0 .25rem; font-weight: 400; }
button { font: inherit; padding: .35rem .9rem; border-radius: .25rem; border: 1px solid #20252e; background: #20252e; color: #fff; cursor: pointer; }
button.secondary { background: #fff; color: #20252e; }
button.danger { background: #a1121b; border-color: #a1121b; }
button:disabled { opacity: .6; cursor: not-allowed; }
.actions { display: flex; gap: .75rem; flex-wrap: wrap; align-items: center; margin: .75rem 0; }
.problem { border: 2px solid #a1121b; background: #fde7e8; padding: .5rem 1rem; border-radius: .4rem; }
.notice { border: 2px solid #0f5e24; background: #e3f4e7; padding: .5rem 1rem; border-radius: .4rem; }
.problem:empty, .notice:empty { display: none; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 0; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
`;
