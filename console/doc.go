// Package console is Vitals' web console: the pages an account manager
// opens every morning, served by `vitals serve` itself.
//
// # Pages
//
// Every page is rendered on the server with html/template from files
// embedded in the binary (templates/, static/); charts are SVG drawn on the
// server; the one script (static/console.js) is optional and served from
// the binary. The pages read through the same *projections.Projector
// methods as the JSON routes under /v1, so the console and the API cannot
// disagree. Every page takes ?at= (a date from the date picker, or an
// RFC 3339 instant) and says when it shows the past.
//
//	/                 the agency at a glance (browsers asking for text/html)
//	/accounts         the clients list: filters, search, sort, pages
//	/accounts/{id}    the client record: score and why, chart, payments, signals, activity
//	/at-risk, /upsell the lists with reasons, MRR and manager
//	/managers         load vs capacity, utilization
//	/managers/{id}    one manager and their accounts
//
// # Security
//
// With an enforced keyring, every page needs a session: the sign-in form
// (/console/sign-in) exchanges a key with the read scope for a random
// session id kept on the server, in an HttpOnly, SameSite=Strict cookie
// (Secure under TLS) that expires; sign-out ends it, and a session ends as
// soon as its key leaves the keyring or loses the read scope. Every answer
// carries a Content-Security-Policy without inline scripts or styles,
// X-Content-Type-Options: nosniff and frame denial.
package console
