package agent_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mediasync/mediasync/agent"
	"github.com/mediasync/mediasync/emulator"
	"github.com/mediasync/mediasync/emulator/emulatortest"
	"github.com/mediasync/mediasync/internal/mediagen"
	"github.com/mediasync/mediasync/manifest"
	"github.com/mediasync/mediasync/metrics"
	"github.com/mediasync/mediasync/uploader"
)

// bearer sends a fixed bearer token over the emulator's in-memory transport.
type bearer struct {
	token string
	base  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r2 := r.Clone(r.Context())
	r2.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(r2)
}

// TestSimAccountRefusals: for each refusal X gives a whole account (issue 12.1), every upload
// pauses, no file is marked failed, one log line names the cause and the fix, /healthz says 503 with
// the fix, and once X accepts the account again (a probe passes) every file uploads exactly once.
func TestSimAccountRefusals(t *testing.T) {
	appOnly := emulator.DemoCredentials().AppBearerToken
	for _, c := range []struct {
		name    string
		faults  emulator.Faults
		client  func(*emulatortest.Server, *atomic.Bool) *http.Client // nil: OAuth 1.0a
		refusal uploader.Refusal
		fix     string // in the log line and /healthz
		version string // uploader.Options.Version; "" is v2
	}{
		{"credits depleted", emulator.Faults{CreditsDepleted: true}, nil, uploader.RefusalCreditsDepleted, "out of pay-per-use credits", ""},
		{"client forbidden", emulator.Faults{ClientForbidden: true}, nil, uploader.RefusalClientForbidden, "not attached to a Project", ""},
		// v1.1 refuses with 403 code 453 (emulator/account.go clientForbidden).
		{"client forbidden (v1.1)", emulator.Faults{ClientForbidden: true}, nil, uploader.RefusalClientForbidden, "not attached to a Project", uploader.V11},
		{"missing scope", emulator.Faults{MissingScope: true}, nil, uploader.RefusalMissingScope, "media.write", ""},
		{"unsupported authentication", emulator.Faults{UnsupportedAuthentication: true}, nil, uploader.RefusalUnsupportedAuth, "app-only bearer token", ""},
		{"app-only bearer token", emulator.Faults{}, func(srv *emulatortest.Server, fixed *atomic.Bool) *http.Client {
			return &http.Client{Transport: switchBearer{srv: srv, bad: appOnly, fixed: fixed}}
		}, uploader.RefusalUnsupportedAuth, "bearer_token", ""},
		{"unauthorized", emulator.Faults{}, func(srv *emulatortest.Server, fixed *atomic.Bool) *http.Client {
			return &http.Client{Transport: switchBearer{srv: srv, bad: "not-a-token", fixed: fixed}}
		}, uploader.RefusalUnauthorized, "does not accept the credentials", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				col := metrics.New()
				var fixed atomic.Bool
				o := simOptions{faults: c.faults, version: c.version, configure: func(o *agent.Options) { o.Observer = col }}
				if c.client != nil {
					o.client = func(srv *emulatortest.Server) *http.Client { return c.client(srv, &fixed) }
				}
				s := newSim(t, o)
				const n = 6
				for i := range n {
					s.drop(0, string(rune('a'+i))+".jpg", mediagen.JPEG(24, 24, int64(i)))
				}
				time.Sleep(10 * time.Minute)
				synctest.Wait()
				logs := s.logs.String()
				if got := strings.Count(logs, "X refuses the account; all uploads paused"); got != 1 {
					t.Errorf("pause said %d times, want once:\n%s", got, logs)
				}
				if !strings.Contains(logs, c.fix) || !strings.Contains(logs, `"refusal":"`+string(c.refusal)+`"`) {
					t.Errorf("the log does not name the cause (%s) and the fix (%q):\n%s", c.refusal, c.fix, logs)
				}
				st := s.ag.Status()
				var pe *agent.PauseError
				if st.Paused == nil || !asPause(st.Paused.Cause, &pe) || pe.Refusal != c.refusal {
					t.Errorf("Status().Paused = %+v; want paused by %s", st.Paused, c.refusal)
				}
				code, body := get(col.Handler(), "/healthz")
				if code != http.StatusServiceUnavailable || !strings.Contains(body, c.fix) {
					t.Errorf("/healthz = %d %q; want 503 naming the fix", code, body)
				}
				if m, err := manifest.Read(manifest.DefaultPath(s.dirs[0])); err == nil {
					for rel, e := range m.Files {
						if e.State == manifest.Failed || e.State == manifest.Skipped || e.State == manifest.Uploaded {
							t.Errorf("%s is %s while X refuses the account; want it left to upload", rel, e.State)
						}
					}
				}
				s.srv.SetFaults(emulator.Faults{}) // lifted
				fixed.Store(true)
				time.Sleep(30 * time.Minute) // the next probe, at most 15 minutes away, then the uploads
				synctest.Wait()
				for i := range n {
					rel := string(rune('a'+i)) + ".jpg"
					if e := s.entry(0, rel); e.State != manifest.Uploaded {
						t.Errorf("%s: %s after the refusal was lifted; want uploaded", rel, e.State)
					}
				}
				if got := len(s.srv.Media()); got != n {
					t.Errorf("%d media at X for %d files; want each once", got, n)
				}
				if code, _ := get(col.Handler(), "/healthz"); code != http.StatusOK {
					t.Errorf("/healthz = %d after the pause; want 200", code)
				}
			})
		})
	}
}

func asPause(err error, pe **agent.PauseError) bool {
	p, ok := err.(*agent.PauseError)
	*pe = p
	return ok
}

// switchBearer sends the bad bearer token until *fixed, then the emulator's own.
type switchBearer struct {
	srv   *emulatortest.Server
	bad   string
	fixed *atomic.Bool
}

func (s switchBearer) RoundTrip(r *http.Request) (*http.Response, error) {
	tok := s.bad
	if s.fixed.Load() {
		tok = s.srv.Creds.BearerToken
	}
	return bearer{token: tok, base: s.srv.Transport()}.RoundTrip(r)
}

func get(h http.Handler, path string) (int, string) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b)
}

// TestSimDailyCapWaits: a spent 24-hour budget (x-user-limit-24hour-*) makes the files wait for its
// reset instead of holding workers or failing (issue 12.4, 17.3): said once, nothing failed, every
// file uploaded once after the reset.
func TestSimDailyCapWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, simOptions{faults: emulator.Faults{DailyUserLimit: 3, DailyWindow: 2 * time.Hour}})
		const n = 10
		for i := range n {
			s.drop(0, string(rune('a'+i))+".jpg", mediagen.JPEG(24, 24, int64(i)))
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		up := 0
		m, _ := manifest.Read(manifest.DefaultPath(s.dirs[0]))
		for rel, e := range m.Files {
			switch e.State {
			case manifest.Uploaded:
				up++
			case manifest.Failed, manifest.Skipped:
				t.Errorf("%s is %s because of the daily cap; want it waiting", rel, e.State)
			}
		}
		// Three one-shot uploads spend that endpoint's budget; the uploader then goes chunked,
		// whose endpoints have budgets of their own: three more.
		if up != 6 {
			t.Errorf("%d uploaded within caps of 3 per endpoint; want 6", up)
		}
		if got := strings.Count(s.logs.String(), "X asks to wait before more uploads"); got != 1 {
			t.Errorf("the wait was said %d times, want once:\n%s", got, s.logs.String())
		}
		if st := s.ag.Status(); st.Scheduled != n-6 {
			t.Errorf("Status().Scheduled = %d; want the waiting files in the scheduler", st.Scheduled)
		}
		time.Sleep(2 * time.Hour) // the window resets
		synctest.Wait()
		for i := range n {
			rel := string(rune('a'+i)) + ".jpg"
			if e := s.entry(0, rel); e.State != manifest.Uploaded {
				t.Errorf("%s: %s after the daily window reset; want uploaded", rel, e.State)
			}
		}
		if got := len(s.srv.Media()); got != n {
			t.Errorf("%d media at X for %d files; want each once", got, n)
		}
	})
}

// TestSimRewrittenDuringUpload: a file rewritten in place during its upload, with its mtime put back
// (issue 17.2's reproduction), is never recorded with the old bytes' sha256 while X got other
// bytes: the changed segment is refused before it completes, and the file is uploaded again; what
// the manifest records is exactly what X holds.
func TestSimRewrittenDuringUpload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, simOptions{faults: emulator.Faults{Latency: time.Second}, configure: func(o *agent.Options) {
			o.Workers = 1
			o.RetryBase = 2 * time.Minute
		}})
		v1 := mediagen.MP4(10<<20, 1) // three segments, a second each
		p := filepath.Join(s.dirs[0], "clip.mp4")
		s.drop(0, "clip.mp4", v1)
		time.Sleep(1500 * time.Millisecond) // INIT and the first segment are in
		synctest.Wait()
		fi, _ := os.Stat(p)
		v2 := mediagen.MP4(10<<20, 2)
		if len(v2) != len(v1) || bytes.Equal(v1, v2) {
			t.Fatal("want another video of the same size")
		}
		f, err := os.OpenFile(p, os.O_WRONLY, 0) // in place: same inode, same size
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt(v2, 0); err != nil {
			t.Fatal(err)
		}
		f.Close()
		if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil { // and the mtime put back
			t.Fatal(err)
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		e := s.entry(0, "clip.mp4")
		if e.State != manifest.Uploaded || e.SHA256 != sum(v2) {
			t.Fatalf("clip.mp4: %s %s; want uploaded with the new bytes' sha256 %s", e.State, e.SHA256, sum(v2))
		}
		mi, ok := s.srv.MediaByID(e.MediaIDString)
		if !ok || mi.SHA256 != e.SHA256 {
			t.Errorf("X holds %s under %s, the manifest records %s", mi.SHA256, e.MediaIDString, e.SHA256)
		}
		for _, m := range s.srv.Media() {
			if m.SHA256 != "" && m.SHA256 != sum(v2) {
				t.Errorf("X finalized media %s with bytes that are neither version (%s)", m.ID, m.SHA256)
			}
		}
	})
}
