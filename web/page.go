package web

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/mediasync/mediasync/internal/human"
)

//go:embed assets
var assets embed.FS

var (
	pageTmpl = template.Must(template.New("").Funcs(template.FuncMap{
		"name":  displayName,
		"bytes": human.Bytes,
		"pct":   percent,
		"rate": func(r float64) string {
			if r <= 0 {
				return ""
			}
			return human.Bytes(int64(r)) + "/s"
		},
		"secs": func(s float64) string { return human.Duration(time.Duration(s * float64(time.Second))) },
		"ago":  func(t, now time.Time) string { return human.Duration(now.Sub(t)) + " ago" },
		"for":  func(t, now time.Time) string { return human.Duration(now.Sub(t)) },
		"in": func(t, now time.Time) string {
			if !t.After(now) {
				return "now"
			}
			return "in " + human.Duration(t.Sub(now))
		},
		"expiresIn": func(t, now time.Time) string {
			if !t.After(now) {
				return "expired"
			}
			return human.Duration(t.Sub(now))
		},
		"links": pageLinks,
		"dict": func(kv ...any) map[string]any {
			m := make(map[string]any, len(kv)/2)
			for i := 0; i+1 < len(kv); i += 2 {
				m[kv[i].(string)] = kv[i+1]
			}
			return m
		},
	}).ParseFS(assets, "assets/*.html"))
	staticFS, _ = fs.Sub(assets, "assets/static")
)

// pageDefaults.
const (
	defaultRefresh   = 2 * time.Second
	defaultPageLimit = 25
	noScriptRefresh  = 10 // seconds, for the <meta refresh> inside <noscript>
)

// NewPageHandler returns the status page: GET / (the page), GET /static/app.css and app.js (its
// stylesheet and script, embedded) and the buttons' targets POST /retry, /retry-failed and /retry-hooks, which
// redirect back to the page (303) with a one-time message. Mount it at "/" beside
// [NewAPIHandler]'s /api/.
//
// The page is rendered on the server with html/template and shows everything without JavaScript
// (a <noscript> <meta refresh> reloads it every 10 s). Its small script refreshes the data without
// reloading: every [Options.Refresh] it fetches the page again and replaces the sections that
// changed; it pauses while the tab is hidden and backs off while the agent does not answer. Access
// as [Options] says; buttons need POST, the CSRF token and the same origin.
func NewPageHandler(b Backend, opts Options) http.Handler {
	if opts.Refresh <= 0 {
		opts.Refresh = defaultRefresh
	}
	if opts.Limit <= 0 {
		opts.Limit = defaultPageLimit
	}
	p := &page{b: b, opts: opts, g: newGuard(opts), scrub: newScrubber(opts, nil)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", p.index)
	for _, name := range []string{"app.js", "app.css"} {
		mux.HandleFunc("GET /static/"+name, func(w http.ResponseWriter, r *http.Request) { http.ServeFileFS(w, r, staticFS, name) })
	}
	mux.HandleFunc("POST /retry", p.action(func(r *http.Request, folder string) (string, error) {
		rel := r.PostFormValue("rel")
		if err := p.b.Retry(r.Context(), folder, rel); err != nil {
			return "", err
		}
		return "Retrying " + displayName(rel) + ".", nil
	}))
	mux.HandleFunc("POST /retry-failed", p.action(func(r *http.Request, folder string) (string, error) {
		n, err := p.b.RetryFailed(r.Context(), folder)
		if err != nil {
			return "", err
		}
		return "Retrying " + plural(n, "failed file") + " in " + folder + ".", nil
	}))
	mux.HandleFunc("POST /retry-hooks", p.action(func(r *http.Request, folder string) (string, error) {
		n, err := p.b.RetryHooks(r.Context(), folder)
		if err != nil {
			return "", err
		}
		return "Running " + plural(n, "failed hook") + " again in " + folder + ".", nil
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secure(w)
		mux.ServeHTTP(w, r)
	})
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

type page struct {
	b    Backend
	opts Options
	g    *guard
	// scrub knows no folder: it is for texts that come without a status (errors, the flash).
	scrub scrubber
}

// view is what the page template renders.
type view struct {
	S        Status
	CSRF     string
	Flash    *flash
	Refresh  int // milliseconds
	NoScript int // seconds
	Limit    int
	Back     string // the page's own query (folder, offset), for the buttons to come back to
	One      bool   // the page shows one folder (paging)
}

func (p *page) index(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Has("token") && p.opts.Token == "" {
		q.Del("token") // nothing to log in to: just keep it out of the address bar
		http.Redirect(w, r, pageURL(q), http.StatusSeeOther)
		return
	}
	if q.Has("token") {
		c, ok := p.g.login(r, q.Get("token"))
		if !ok {
			p.problem(w, http.StatusUnauthorized, "Wrong token.", "Open this page as /?token=TOKEN with the agent's http.token, once; the browser then keeps a session cookie.")
			return
		}
		http.SetCookie(w, c)
		q.Del("token")
		http.Redirect(w, r, pageURL(q), http.StatusSeeOther) // the token leaves the address bar
		return
	}
	if a, why := p.g.who(r); a == accessDenied {
		p.denied(w, why)
		return
	}
	sq := Query{Folder: q.Get("folder"), Limit: p.opts.Limit}
	if n, err := strconv.Atoi(q.Get("offset")); err == nil && n > 0 {
		sq.Offset = n
	}
	st, err := p.b.Status(r.Context(), sq)
	if err != nil {
		msg := p.scrub.text(err.Error())
		switch status, _ := errorAnswer(err); status {
		case http.StatusInternalServerError:
			p.problem(w, http.StatusServiceUnavailable, "The agent did not answer: "+msg, "The page tries again when reloaded.")
		default:
			p.problem(w, status, "Cannot show this: "+msg, "")
		}
		return
	}
	sc := newScrubber(p.opts, st.Folders)
	sc.status(&st)
	v := view{
		S: st, CSRF: p.g.csrf, Refresh: int(p.opts.Refresh / time.Millisecond), NoScript: noScriptRefresh,
		Limit: sq.Limit, Back: backQuery(sq), One: sq.Folder != "",
	}
	if f, ok := p.g.takeFlash(w, r); ok {
		f.Text = sc.text(f.Text)
		v.Flash = &f
	}
	p.render(w, http.StatusOK, "page.html", v)
}

// action returns the handler of a button: authorised, same-origin, CSRF-checked, then do, then a
// redirect back to the page with do's message (or its error) as the flash.
func (p *page) action(do func(r *http.Request, folder string) (string, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		a, why := p.g.who(r)
		if a == accessDenied {
			p.denied(w, why)
			return
		}
		if err := r.ParseForm(); err != nil {
			p.problem(w, http.StatusBadRequest, "Malformed form.", "")
			return
		}
		if why := p.g.checkChange(r, a, r.PostFormValue(csrfField)); why != "" {
			p.problem(w, http.StatusForbidden, "Refused: "+why+".", "Reload the page and press the button again.")
			return
		}
		msg, err := do(r, r.PostFormValue("folder"))
		f := flash{Text: msg}
		if err != nil {
			// Redacted now, not only when shown: the cookie itself must not carry a credential.
			f = flash{Error: true, Text: p.scrub.redact(err.Error())}
		}
		http.SetCookie(w, p.g.flashCookie(r, f))
		back, _ := url.ParseQuery(r.PostFormValue("back"))
		http.Redirect(w, r, pageURL(back), http.StatusSeeOther)
	}
}

// backQuery is the query of the page a button returns to.
func backQuery(q Query) string {
	v := url.Values{}
	if q.Folder != "" {
		v.Set("folder", q.Folder)
	}
	if q.Offset > 0 {
		v.Set("offset", strconv.Itoa(q.Offset))
	}
	return v.Encode()
}

// pageURL returns the page's URL with only the parameters it knows taken from q, so that no
// redirect can lead elsewhere.
func pageURL(q url.Values) string {
	v := url.Values{}
	for _, k := range []string{"folder", "offset"} {
		if s := q.Get(k); s != "" {
			v.Set(k, s)
		}
	}
	if len(v) == 0 {
		return "/"
	}
	return "/?" + v.Encode()
}

func (p *page) denied(w http.ResponseWriter, why string) {
	hint := "Open this page once as /?token=TOKEN, with the agent's http.token; the browser then keeps a session cookie."
	if p.opts.Token == "" {
		hint = "Reach the agent as http://localhost:PORT/ (an SSH tunnel: ssh -L 9464:127.0.0.1:9464 HOST), or set http.token."
	}
	p.problem(w, http.StatusUnauthorized, "Not authorised: "+why+".", hint)
}

func (p *page) problem(w http.ResponseWriter, status int, msg, hint string) {
	p.render(w, status, "problem.html", struct{ Message, Hint string }{msg, hint})
}

func (p *page) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := pageTmpl.ExecuteTemplate(&buf, name, data); err != nil {
		// A template bug, never user input: html/template escapes every value.
		http.Error(w, "page rendering failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// links are the paging links of one list: the previous and next page of the folder, how many
// entries follow this page, and the same page as JSON.
type links struct {
	Prev, Next, JSON string
	More             int
}

func pageLinks(folder string, l Problems, limit int) links {
	var k links
	if l.Offset > 0 {
		k.Prev = pageURL(url.Values{"folder": {folder}, "offset": {strconv.Itoa(max(l.Offset-limit, 0))}})
	}
	if k.More = l.Total - l.Offset - len(l.Items); k.More > 0 {
		k.Next = pageURL(url.Values{"folder": {folder}, "offset": {strconv.Itoa(l.Offset + limit)}})
	} else {
		k.More = 0
	}
	k.JSON = "/api/status?" + url.Values{"folder": {folder}, "offset": {strconv.Itoa(l.Offset)}, "limit": {strconv.Itoa(MaxLimit)}}.Encode()
	return k
}
