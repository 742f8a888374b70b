package emulator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// ListenAndServe serves a new emulator on addr (e.g. "127.0.0.1:8089") until
// ctx is cancelled, then shuts down gracefully, closes the emulator and
// returns nil. ready, if not nil, is called with the base URL
// ("http://127.0.0.1:8089") once the listener is bound.
func ListenAndServe(ctx context.Context, addr string, opts Options, ready func(baseURL string)) error {
	s, err := New(opts)
	if err != nil {
		return err
	}
	defer s.Close()
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("emulator listen: %w", err)
	}
	return s.Serve(ctx, ln, ready)
}

// Serve serves s on ln until ctx is cancelled, then stops taking
// connections, gives requests in flight up to 5 seconds to finish, and
// returns nil. It closes ln but not s. ready is as for [ListenAndServe].
// Slow clients are bounded by Options.ReadHeaderTimeout, IdleTimeout,
// MinBodyRate and BodyRateWindow.
func (s *Server) Serve(ctx context.Context, ln net.Listener, ready func(baseURL string)) error {
	hs := &http.Server{
		Handler:           s.slow.guard(s),
		ReadHeaderTimeout: s.slow.readHeader,
		IdleTimeout:       s.slow.idle,
		// The server's own complaints (slow clients cut, accept errors)
		// go to the debug log: one line per dropped client is noise.
		ErrorLog: log.New(debugWriter{s.log}, "", 0),
	}
	base := "http://" + ln.Addr().String()
	s.log.Info().Str("url", base).Msg("emulator listening")
	if ready != nil {
		ready(base)
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("emulator serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
	}
	<-errc
	return nil
}

// slowLimits bound what a slow client can hold (Options).
type slowLimits struct {
	readHeader, idle time.Duration
	window           time.Duration // BodyRateWindow
	need             int64         // bytes a body must deliver per window of waiting; 0 = no check
}

func newSlowLimits(o Options) slowLimits {
	l := slowLimits{readHeader: 30 * time.Second, idle: 2 * time.Minute, window: 30 * time.Second}
	if o.ReadHeaderTimeout > 0 {
		l.readHeader = o.ReadHeaderTimeout
	}
	if o.IdleTimeout > 0 {
		l.idle = o.IdleTimeout
	}
	if o.BodyRateWindow > 0 {
		l.window = o.BodyRateWindow
	}
	rate := int64(1 << 10)
	if o.MinBodyRate != 0 {
		rate = o.MinBodyRate
	}
	if rate > 0 {
		l.need = max(1, int64(float64(rate)*l.window.Seconds()))
	}
	return l
}

// errSlowBody is what a read of a body slower than the minimum rate returns.
var errSlowBody = errors.New("request body slower than the minimum rate")

// guard wraps h so that every request body is held to the minimum rate.
// The check uses the connection's read deadline, refreshed on progress:
// before each read it is set to what is left of the window's waiting time,
// and each time the body has delivered its window's worth of bytes the
// window starts afresh. Only time spent blocked in a read counts, so the
// emulator's own pauses (latency and bandwidth faults, work between reads)
// never cut a client. A body that falls short is cut: the request is
// answered 408 with an empty body and the connection closed. The read
// deadline also bounds the server's own discard of a body the handler left
// unread.
func (l slowLimits) guard(h http.Handler) http.Handler {
	if l.need == 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			h.ServeHTTP(w, r)
			return
		}
		ctl := http.NewResponseController(w)
		g := &slowBody{rc: r.Body, ctl: ctl, window: l.window, need: l.need}
		gw := &guardWriter{ResponseWriter: w, g: g}
		r.Body = g
		h.ServeHTTP(gw, r)
		if g.tripped && !gw.wrote {
			gw.WriteHeader(http.StatusRequestTimeout)
		}
		if !g.eof && !g.tripped {
			// The server discards what the handler left unread; bound it.
			ctl.SetReadDeadline(time.Now().Add(l.window))
		}
	})
}

// slowBody is a request body held to a minimum rate (see slowLimits.guard).
type slowBody struct {
	rc      io.ReadCloser
	ctl     *http.ResponseController
	window  time.Duration
	need    int64
	n       int64         // bytes since the window started
	waited  time.Duration // time blocked in reads since the window started
	eof     bool
	tripped bool
}

func (g *slowBody) Read(p []byte) (int, error) {
	if g.tripped {
		return 0, errSlowBody
	}
	left := g.window - g.waited
	if left <= 0 {
		g.tripped = true
		return 0, errSlowBody
	}
	t0 := time.Now()
	g.ctl.SetReadDeadline(t0.Add(left)) // not supported (a test recorder): no check
	n, err := g.rc.Read(p)
	g.waited += time.Since(t0)
	g.n += int64(n)
	if g.n >= g.need {
		g.n, g.waited = 0, 0
	}
	var ne net.Error
	switch {
	case err == io.EOF:
		g.eof = true
		g.ctl.SetReadDeadline(time.Time{})
	case errors.As(err, &ne) && ne.Timeout():
		g.tripped = true
		return n, errSlowBody
	}
	return n, err
}

func (g *slowBody) Close() error { return g.rc.Close() }

// guardWriter turns the answer to a request whose body was cut for being
// too slow into 408 with an empty body, and closes the connection after it.
type guardWriter struct {
	http.ResponseWriter
	g     *slowBody
	wrote bool
	muted bool
}

func (w *guardWriter) WriteHeader(code int) {
	if !w.wrote && w.g.tripped {
		code = http.StatusRequestTimeout
		clear(w.Header())
		w.Header().Set("Content-Length", "0")
		w.Header().Set("Connection", "close")
		w.muted = true
	}
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *guardWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if w.muted {
		return len(p), nil
	}
	return w.ResponseWriter.Write(p)
}

func (w *guardWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// debugWriter logs each line written to it at debug level.
type debugWriter struct{ l zerolog.Logger }

func (w debugWriter) Write(p []byte) (int, error) {
	w.l.Debug().Str("source", "http.Server").Msg(strings.TrimSpace(string(p)))
	return len(p), nil
}
