package web

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"syscall"
	"time"
)

// SocketName is the control socket's file name, in the manifest's directory.
const SocketName = "agent.sock"

// ServeUnix serves h on a unix socket at path until ctx is cancelled, then stops (in-flight
// requests see their context cancelled and get a few seconds to answer), removes the socket and
// returns nil. It returns an error when it cannot listen: the directory is a symlink or not owned by
// this user, path exists and is not a socket ([ErrSocketInUse] when another agent answers on it),
// or path is too long for a socket.
//
// The socket is created owner-only (mode 0600, bound inside a private temporary directory and
// renamed into place, so it is never reachable by others even for an instant). A stale socket
// (nothing answers) is replaced; nothing else is ever removed, and no symlink is followed. Requests
// arriving through it are the owner's: the handlers of this package answer them without a token or
// a CSRF token.
func ServeUnix(ctx context.Context, path string, h http.Handler) error {
	if err := ctx.Err(); err != nil {
		return nil
	}
	ln, cleanup, err := listenUnix(path)
	if err != nil {
		return err
	}
	defer cleanup()
	srv := &http.Server{
		Handler:           h,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ConnContext:       func(c context.Context, _ net.Conn) context.Context { return context.WithValue(c, trustedKey{}, true) },
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("control socket %s: %w", path, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("control socket %s: %w", path, err)
	}
	return nil
}

// Client talks to a running agent over its control socket ([Dial]). It implements [Backend], so
// cmd can use the agent's answers where it would otherwise do the work itself. Safe for concurrent
// use.
type Client struct {
	path string
	hc   *http.Client
}

var _ Backend = (*Client)(nil)

// Dial returns a client of the agent listening on the control socket at path. It does not connect:
// each call does, and returns an error wrapping [ErrNoAgent] when nothing listens there (no socket,
// or connection refused), so that the caller can do the work itself.
func Dial(path string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
		DisableCompression: true,
		MaxIdleConns:       2,
		IdleConnTimeout:    30 * time.Second,
	}
	return &Client{path: path, hc: &http.Client{Transport: tr}}
}

// Close closes the client's idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// Status returns the running agent's status (GET /api/status).
func (c *Client) Status(ctx context.Context, q Query) (Status, error) {
	v := url.Values{}
	if q.Folder != "" {
		v.Set("folder", q.Folder)
	}
	if q.Offset > 0 {
		v.Set("offset", strconv.Itoa(q.Offset))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var st Status
	err := c.do(ctx, http.MethodGet, "/api/status?"+v.Encode(), nil, &st)
	return st, err
}

// Retry asks the running agent to retry the failed file rel of folder (POST /api/retry).
func (c *Client) Retry(ctx context.Context, folder, rel string) error {
	var out retried
	return c.do(ctx, http.MethodPost, "/api/retry", retryRequest{Folder: folder, Rel: rel}, &out)
}

// RetryFailed asks the running agent to retry every failed file of folder ("" = all) and returns
// how many it scheduled (POST /api/retry-failed).
func (c *Client) RetryFailed(ctx context.Context, folder string) (int, error) {
	var out retried
	err := c.do(ctx, http.MethodPost, "/api/retry-failed", retryRequest{Folder: folder}, &out)
	return out.Retried, err
}

// RetryHooks asks the running agent to run the failed hooks of folder ("" = all) again and returns
// how many it scheduled (POST /api/retry-hooks).
func (c *Client) RetryHooks(ctx context.Context, folder string) (int, error) {
	var out retried
	err := c.do(ctx, http.MethodPost, "/api/retry-hooks", retryRequest{Folder: folder}, &out)
	return out.Retried, err
}

// Explain asks the running agent what it knows and decides about path (GET /api/explain).
func (c *Client) Explain(ctx context.Context, path string) (Explanation, error) {
	var e Explanation
	err := c.do(ctx, http.MethodGet, "/api/explain?"+url.Values{"path": {path}}.Encode(), nil, &e)
	return e, err
}

// Upload asks the running agent to upload the file at path (absolute) now and waits for the
// outcome (POST /api/upload). With opts.OnProgress set, the agent streams its progress, and
// OnProgress is called from this goroutine as it arrives. Cancelling ctx cancels the upload.
func (c *Client) Upload(ctx context.Context, path string, opts UploadOptions) (UploadResult, error) {
	body := uploadRequest{Path: path, MediaCategory: opts.Category, AltText: opts.AltText}
	if opts.OnProgress == nil {
		var line uploadLine
		if err := c.do(ctx, http.MethodPost, "/api/upload", body, &line); err != nil {
			return UploadResult{}, err
		}
		if line.Result == nil {
			return UploadResult{}, fmt.Errorf("agent at %s: upload answer without a result", c.path)
		}
		return *line.Result, nil
	}
	resp, err := c.send(ctx, http.MethodPost, "/api/upload", body, ndjson)
	if err != nil {
		return UploadResult{}, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var line uploadLine
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return UploadResult{}, fmt.Errorf("agent at %s: malformed upload answer: %w", c.path, err)
		}
		switch {
		case line.Progress != nil:
			opts.OnProgress(line.Progress.Bytes, line.Progress.Total)
		case line.Error != nil:
			return UploadResult{}, &APIError{Status: resp.StatusCode, Code: line.Error.Code, Message: line.Error.Message}
		case line.Result != nil:
			return *line.Result, nil
		}
	}
	if err := ctx.Err(); err != nil {
		return UploadResult{}, err
	}
	if err := sc.Err(); err != nil {
		return UploadResult{}, fmt.Errorf("agent at %s stopped answering during the upload: %w", c.path, err)
	}
	return UploadResult{}, fmt.Errorf("agent at %s stopped during the upload (it may be shutting down); run the command again", c.path)
}

// do sends a request and decodes the JSON answer into out.
func (c *Client) do(ctx context.Context, method, target string, in, out any) error {
	resp, err := c.send(ctx, method, target, in, "application/json")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(out); err != nil {
		return fmt.Errorf("agent at %s: malformed answer to %s %s: %w", c.path, method, target, err)
	}
	return nil
}

// send sends a request; it returns the response only for a 2xx answer of an agent that speaks
// this schema version, else the error the answer stands for.
func (c *Client) send(ctx context.Context, method, target string, in any, accept string) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://mediasync"+target, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", accept)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if noAgent(err) {
			return nil, fmt.Errorf("%w (%s)", ErrNoAgent, c.path)
		}
		return nil, fmt.Errorf("agent at %s: %w", c.path, err)
	}
	v := resp.Header.Get(versionHeader)
	if n, err := strconv.Atoi(v); err != nil || n != Version {
		resp.Body.Close()
		if v == "" {
			return nil, fmt.Errorf("%s answers, but not as a mediasync agent", c.path)
		}
		return nil, fmt.Errorf("the running agent speaks API version %s, this mediasync version %d: restart the agent with this binary", v, Version)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	var e errorBody
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&e); err != nil || e.Error.Code == "" {
		return nil, &APIError{Status: resp.StatusCode, Code: codeInternal, Message: fmt.Sprintf("agent at %s answered %s", c.path, resp.Status)}
	}
	if e.Error.Code == codeNoEndpoint {
		e.Error.Message = "the running agent is older than this mediasync and cannot do this; restart it with this binary"
	}
	return nil, &APIError{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
}

// noAgent reports whether a request failed because nothing listens on the socket.
func noAgent(err error) bool {
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" {
		return false
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ENOTDIR)
}
