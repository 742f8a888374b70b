package auth

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// DefaultLoginTimeout is how long Login waits for the authorization.
const DefaultLoginTimeout = 5 * time.Minute

// LoginOptions tune [Login].
type LoginOptions struct {
	// NoBrowser prints the URL instead of opening a browser, and also reads the redirect URL (or the
	// bare code) pasted into In, for a machine reached over SSH. The loopback listener stays up
	// either way, so a browser on the same machine completes the login by itself.
	NoBrowser bool
	// In is where a pasted redirect URL or code is read from, one per line (NoBrowser only). The
	// reading goroutine may stay blocked in In.Read after Login returns; pass a reader that ends.
	In io.Reader
	// Out gets the URL and the instructions; nil discards them.
	Out io.Writer
	// Timeout bounds the whole login; 0 = DefaultLoginTimeout.
	Timeout time.Duration
	// OpenBrowser opens url; nil = xdg-open (open on macOS), best effort.
	OpenBrowser func(ctx context.Context, url string) error
	// HTTPClient calls the token endpoint; nil = a client over http.DefaultTransport.
	HTTPClient *http.Client
	// OnURL, if set, is called with the authorization URL once the listener is up.
	OnURL func(authURL string)
}

// ErrLoginTimeout is returned when no authorization arrived in time.
var ErrLoginTimeout = errors.New("oauth2 login timed out")

// Login runs the OAuth 2.0 Authorization Code flow with PKCE (S256) and stores the grant in store.
//
// It first listens on the redirect URI's loopback host and port (so the redirect cannot arrive
// before anyone listens), then shows the authorization URL (and opens a browser unless NoBrowser).
// The code comes from the redirect to the listener, or, with NoBrowser, from a pasted redirect URL
// or code, whichever comes first. A callback whose state does not match (compared in constant time)
// is refused and the login goes on waiting; a pasted bare code carries no state, but the PKCE
// verifier binds it to this login anyway. The code is exchanged (x/oauth2's Exchange with the
// verifier) and the token is written with [Store.Save]. A redirect URI that is not http on a
// loopback host with a port is refused: X sends the browser there, and it must be this machine.
func Login(ctx context.Context, cfg Config, store *Store, opts LoginOptions) (*Token, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	redirect, err := ParseRedirectURL(cfg.redirectURL())
	if err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultLoginTimeout
	}
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, ErrLoginTimeout)
	defer cancel()

	state, err := randomString(32)
	if err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	verifier := oauth2.GenerateVerifier()
	oc := cfg.oauth2Config()
	authURL := oc.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))

	codes := make(chan codeResult, 1) // first answer wins; later ones are dropped
	deliver := func(r codeResult) {
		select {
		case codes <- r:
		default:
		}
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", redirect.Host)
	if err != nil {
		if !opts.NoBrowser {
			return nil, fmt.Errorf("login: listen on %s for the redirect: %w (free the port, set api.redirect_url to another registered callback, or use --no-browser and paste the redirect URL)", redirect.Host, err)
		}
		fmt.Fprintf(out, "Cannot listen on %s (%v); paste the redirect URL instead.\n", redirect.Host, err)
		ln = nil
	}
	if ln != nil {
		srv := &http.Server{Handler: callbackHandler(redirect.Path, state, deliver, out), ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		defer func() {
			sctx, c := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer c()
			srv.Shutdown(sctx)
		}()
	}
	if opts.NoBrowser {
		fmt.Fprintf(out, "Open this URL in a browser, on any machine, and authorize the app:\n\n  %s\n\n", authURL)
		fmt.Fprintf(out, "If that browser runs on this machine, the login completes by itself. Otherwise it ends on a\n"+
			"page that cannot load (%s?state=…&code=…): copy that address from the\n"+
			"address bar, paste it here and press Enter.\n", cfg.redirectURL())
		if opts.In != nil {
			go readPasted(ctx, opts.In, state, deliver, out)
		}
	} else {
		fmt.Fprintf(out, "Opening a browser to authorize mediasync; if none opens, open this URL:\n\n  %s\n\n", authURL)
		open := opts.OpenBrowser
		if open == nil {
			open = openBrowser
		}
		if err := open(ctx, authURL); err != nil {
			fmt.Fprintf(out, "Could not open a browser (%v); open the URL above yourself.\n", err)
		}
	}
	if opts.OnURL != nil {
		opts.OnURL(authURL)
	}
	fmt.Fprintf(out, "Waiting up to %s…\n", timeout.Round(time.Second))

	var code string
	select {
	case r := <-codes:
		if r.err != nil {
			return nil, fmt.Errorf("login: %w", r.err)
		}
		code = r.code
	case <-ctx.Done():
		if errors.Is(context.Cause(ctx), ErrLoginTimeout) {
			return nil, fmt.Errorf("login: no authorization within %s: %w", timeout, ErrLoginTimeout)
		}
		return nil, ctx.Err()
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	ot, err := oc.Exchange(withClient(ctx, hc), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, fmt.Errorf("login: exchange the authorization code: %w", classify(err))
	}
	now := time.Now()
	tok := tokenFrom(ot, cfg.ClientID, obtainedAt(ot))
	tok.LoggedIn = now
	if err := store.Save(ctx, tok); err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	if tok.RefreshToken == "" {
		fmt.Fprintf(out, "Warning: X issued no refresh token (offline.access was not granted); uploads stop when the access token expires at %s.\n", tok.Expiry.Local().Format(time.RFC3339))
	}
	return tok, nil
}

type codeResult struct {
	code string
	err  error
}

// ErrRedirectURL is matched (errors.Is) by every error of [ParseRedirectURL]: the redirect URI is
// not one Login can listen on.
var ErrRedirectURL = errors.New("redirect URL not usable for a loopback login")

// redirectError is ParseRedirectURL's error: its message says what is wrong; it matches
// ErrRedirectURL.
type redirectError struct{ msg string }

func (e *redirectError) Error() string        { return e.msg }
func (e *redirectError) Is(target error) bool { return target == ErrRedirectURL }

func badRedirect(format string, args ...any) error {
	return &redirectError{fmt.Sprintf(format, args...)}
}

// ParseRedirectURL checks a loopback redirect URI: http, a loopback host (127.0.0.1, ::1,
// localhost) and an explicit port; no query or fragment. Its errors match [ErrRedirectURL].
func ParseRedirectURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, badRedirect("redirect URL %q is not a URL", s)
	}
	switch {
	case u.Scheme != "http":
		return nil, badRedirect("redirect URL %q must start with http:// (a loopback callback on this machine)", s)
	case u.Port() == "":
		return nil, badRedirect("redirect URL %q needs a port, e.g. http://127.0.0.1:8765/callback", s)
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return nil, badRedirect("redirect URL %q must not have a user, query or fragment", s)
	}
	h := u.Hostname()
	if ip := net.ParseIP(h); h != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, badRedirect("redirect URL %q must name a loopback host (127.0.0.1, [::1] or localhost): the browser is sent there and this machine must answer", s)
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return u, nil
}

func callbackHandler(path, state string, deliver func(codeResult), out io.Writer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != path {
			http.NotFound(w, r)
			return
		}
		code, err := codeFrom(r.URL.Query(), state, true)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		switch {
		case errors.Is(err, errStateMismatch):
			fmt.Fprintln(out, "Refused a callback whose state does not match this login; still waiting.")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, page("This authorization belongs to another login attempt (state mismatch). Start again from the URL the terminal shows."))
			return
		case err != nil:
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, page("Authorization failed: "+err.Error()))
			deliver(codeResult{err: err})
			return
		}
		fmt.Fprint(w, page("mediasync is authorized. You can close this tab and return to the terminal."))
		deliver(codeResult{code: code})
	})
}

var errStateMismatch = errors.New("state does not match this login")

// codeFrom reads the code of a redirect's query. needState: the state must be present (a
// callback); a pasted URL without one is taken like a bare code.
func codeFrom(q url.Values, state string, needState bool) (string, error) {
	if q.Has("state") || needState {
		if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1 {
			return "", errStateMismatch
		}
	}
	if e := q.Get("error"); e != "" {
		if d := q.Get("error_description"); d != "" {
			return "", fmt.Errorf("authorization server answered %s: %s", truncate(e, 64), truncate(d, 200))
		}
		if e == "access_denied" {
			return "", errors.New("authorization was denied in the browser")
		}
		return "", fmt.Errorf("authorization server answered %s", truncate(e, 64))
	}
	code := q.Get("code")
	if code == "" {
		return "", errors.New("the redirect has no code")
	}
	return code, nil
}

// readPasted reads pasted redirect URLs or bare codes until one is usable or ctx ends.
func readPasted(ctx context.Context, in io.Reader, state string, deliver func(codeResult), out io.Writer) {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 4096), 64<<10)
	for sc.Scan() {
		if ctx.Err() != nil {
			return
		}
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if !strings.Contains(line, "://") && !strings.Contains(line, "?") && !strings.ContainsAny(line, " \t") {
			deliver(codeResult{code: line})
			return
		}
		u, err := url.Parse(line)
		if err != nil {
			fmt.Fprintln(out, "That is neither the redirect URL nor a code; paste the whole address from the browser.")
			continue
		}
		code, err := codeFrom(u.Query(), state, false)
		switch {
		case errors.Is(err, errStateMismatch):
			fmt.Fprintln(out, "That URL belongs to another login attempt (state mismatch); paste the one from this login.")
			continue
		case err != nil && u.Query().Get("error") == "":
			fmt.Fprintf(out, "%v; paste the whole address from the browser.\n", err)
			continue
		}
		deliver(codeResult{code: code, err: err})
		return
	}
}

func page(msg string) string {
	return "<!doctype html><meta charset=utf-8><title>mediasync</title><p style=\"font:16px sans-serif;margin:3em\">" + html.EscapeString(msg) + "</p>\n"
}

func randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// openBrowser starts the platform's URL opener, best effort, without waiting for the browser.
func openBrowser(ctx context.Context, u string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", u)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", u)
	default:
		cmd = exec.Command("xdg-open", u)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait()
	return nil
}
