package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mediasync/mediasync/emulator"
	"github.com/mediasync/mediasync/emulator/emulatortest"
	"github.com/mediasync/mediasync/internal/mediagen"
	"github.com/mediasync/mediasync/manifest"
)

// frontedEmulator starts an emulator reached only through front, an http.Handler the test puts
// before it (to kill the agent at a chosen request, or to answer in its place), on loopback. It
// returns the emulator and front's base URL.
func frontedEmulator(t *testing.T, opts emulator.Options, front func(emu http.Handler) http.Handler) (*emulatortest.Server, string) {
	t.Helper()
	srv := emulatortest.NewInMemory(t, opts)
	hs := httptest.NewServer(front(srv.Server))
	t.Cleanup(hs.Close)
	return srv, hs.URL
}

// mediaWith returns the media the emulator holds with the bytes of sha256 sum (finalized), and how
// many media ids it handed out in all.
func mediaWith(srv *emulatortest.Server, sum string) (ids []string, all int) {
	for _, mi := range srv.Media() {
		all++
		if mi.SHA256 == sum {
			ids = append(ids, mi.ID)
		}
	}
	return ids, all
}

// sameBytes reports whether the emulator holds exactly data under id.
func sameBytes(t *testing.T, srv *emulatortest.Server, id string, data []byte) bool {
	t.Helper()
	rc, err := srv.OpenMedia(id)
	if err != nil {
		t.Errorf("OpenMedia(%s): %v", id, err)
		return false
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Errorf("read media %s: %v", id, err)
		return false
	}
	return bytes.Equal(got, data)
}

// TestRun413Halving: X's edge refuses request bodies over a limit it does not publish with 413 and
// an empty body (trypostit/trypost PR #31, 2026-05-12; API.md §4.2). With the emulator's edge at
// 2 MiB and upload.chunk_size 4 MiB, `run --once` uploads a 10 MB video once, byte-identical; the
// log says the segment size was halved (4 MiB → 2 MiB, whose multipart body is still over the
// edge → 1 MiB, the floor), and nothing failed (issue 12.3).
func TestRun413Halving(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the agent as a subprocess")
	}
	t.Parallel()
	exe := mediasyncExe(t)
	srv := emulatortest.NewServer(t, emulator.Options{Faults: emulator.Faults{EdgeBodyLimit: 2 << 20}})
	base := t.TempDir()
	folder := mkdir(t, filepath.Join(base, "inbox"))
	data := mediagen.MP4(10_000_000, 12)
	put(t, folder, "clip.mp4", data)
	creds := srv.Creds
	creds.BearerToken = ""
	cfg := writeAgentConfig(t, filepath.Join(base, "mediasync.yaml"), agentConfig{
		BaseURL: srv.URL, Creds: creds, Folder: folder, ChunkSize: "4MiB",
	})
	code, stdout, stderr := runCLI(t, exe, agentEnv(), 2*time.Minute, "run", "--once", "--config", cfg)
	logPath := filepath.Join(base, "once.log")
	if err := os.WriteFile(logPath, []byte(stdout+stderr), 0o600); err != nil {
		t.Fatal(err)
	}
	if code != 0 {
		t.Fatalf("run --once: exit %d\n%s", code, tail(logPath, 30))
	}
	e := entries(folder)["clip.mp4"]
	ids, all := mediaWith(srv, sha256Hex(data))
	if e.State != manifest.Uploaded || len(ids) != 1 || ids[0] != e.MediaIDString || e.SHA256 != sha256Hex(data) {
		t.Fatalf("clip.mp4: entry %s %s, emulator media with its bytes %v; want uploaded once as the recorded id", e.State, e.MediaIDString, ids)
	}
	if !sameBytes(t, srv, e.MediaIDString, data) {
		t.Error("the emulator's bytes differ from the file's")
	}
	halved := logRecords(t, "uploading in smaller segments", logPath)
	if len(halved) == 0 || halved[0].Bytes != 4<<20 || halved[0].Chunk != 2<<20 || halved[len(halved)-1].Chunk != 1<<20 {
		t.Errorf("halving log lines %+v; want 4 MiB → 2 MiB first and 1 MiB last\n%s", halved, tail(logPath, 30))
	}
	refused := srv.Stats().Count("POST /2/media/upload/{id}/append", http.StatusRequestEntityTooLarge)
	if refused == 0 || len(logRecords(t, "upload failed", logPath)) > 0 {
		t.Errorf("%d APPENDs refused with 413, failures %d; want some refused and none failed", refused, len(logRecords(t, "upload failed", logPath)))
	}
	t.Logf("413 result: 10 MB video, edge 2 MiB, chunk_size 4 MiB: %d APPENDs refused with 413, %d halvings (last segment size %d), media ids handed out %d, uploaded once byte-identical as %s",
		refused, len(halved), halved[len(halved)-1].Chunk, all, e.MediaIDString)
	checkLogs(t, logPath)
}

// isFinalize reports whether r is a FINALIZE: v2 POST /2/media/upload/{id}/finalize, or v1.1's
// form with command=FINALIZE (whose small body it reads and puts back).
func isFinalize(r *http.Request) bool {
	if r.Method != http.MethodPost {
		return false
	}
	if strings.HasPrefix(r.URL.Path, "/2/media/upload/") && strings.HasSuffix(r.URL.Path, "/finalize") {
		return true
	}
	if r.URL.Path != "/1.1/media/upload.json" || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		return false
	}
	b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	r.Body = io.NopCloser(bytes.NewReader(b))
	vals, _ := url.ParseQuery(string(b))
	return vals.Get("command") == "FINALIZE"
}

// TestRunResumedImage: an image uploaded in chunks (simple_upload_max: 0) whose FINALIZE X took,
// the agent SIGKILLed before it had the answer (so before its entry recorded the upload), finishes
// on the same media id at the restart: exactly one media id at X, with the file's bytes, and the
// entry records it (issue 12.2; X's STATUS answers 400 "BadRequest: Not found" for an image in v2,
// 404 code 34 in v1.1, and a second FINALIZE is refused: neither may lead to a fresh INIT).
func TestRunResumedImage(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the agent as a subprocess")
	}
	t.Parallel()
	exe := mediasyncExe(t)
	for _, tc := range []struct {
		api string
		// lostAcks: the segments' acknowledgements had not reached the manifest either (they are
		// staged, so a kill may leave fewer than were sent): the restart APPENDs to a finalized
		// id, which X refuses, and must then tell from STATUS that the id is finalized.
		lostAcks bool
	}{{"v2", false}, {"v2", true}, {"v1.1", true}} {
		api := tc.api
		t.Run(fmt.Sprintf("%s/lost_acks=%v", api, tc.lostAcks), func(t *testing.T) {
			agentCh := make(chan *proc, 1)
			var killed atomic.Bool
			srv, baseURL := frontedEmulator(t, emulator.Options{}, func(emu http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if killed.Load() || !isFinalize(r) {
						emu.ServeHTTP(w, r)
						return
					}
					// X takes the FINALIZE; the agent dies before the answer reaches it.
					rec := httptest.NewRecorder()
					emu.ServeHTTP(rec, r)
					if rec.Code/100 != 2 { // not taken (v2 answers 200, v1.1 201): pass X's answer on
						for k, v := range rec.Header() {
							w.Header()[k] = v
						}
						w.WriteHeader(rec.Code)
						w.Write(rec.Body.Bytes())
						return
					}
					p := <-agentCh
					killed.Store(true)
					p.cmd.Process.Signal(syscall.SIGKILL)
					<-p.done
					panic(http.ErrAbortHandler) // the connection is cut without an answer
				})
			})
			base := t.TempDir()
			folder := mkdir(t, filepath.Join(base, "inbox"))
			data := mediagen.PNG(600, 600, 21) // over 1 MiB: two segments
			sum := sha256Hex(data)
			creds := srv.Creds
			creds.BearerToken = ""
			cfg := writeAgentConfig(t, filepath.Join(base, "mediasync.yaml"), agentConfig{
				APIVersion: api, BaseURL: baseURL, Creds: creds, Folder: folder, SimpleUploadMax: "0",
			})
			put(t, folder, "photo.png", data)
			p1 := startProc(t, exe, filepath.Join(base, "run-1.log"), agentEnv(), "run", "--config", cfg)
			agentCh <- p1
			select {
			case <-p1.done:
			case <-time.After(time.Minute): // a guard against a hang
				t.Fatalf("the agent did not reach FINALIZE within a minute:\n%s", tail(p1.log, 30))
			}
			if !killed.Load() {
				t.Fatalf("the agent exited by itself (%v) before FINALIZE:\n%s", p1.err, tail(p1.log, 30))
			}
			ids, _ := mediaWith(srv, sum)
			before := entries(folder)["photo.png"]
			if len(ids) != 1 || before.State == manifest.Uploaded || before.Resume == nil || before.Resume.MediaID != ids[0] {
				t.Fatalf("at the kill: finalized media %v, entry %s with resume %+v; want one finalized id, the entry still uploading on it", ids, before.State, before.Resume)
			}

			if tc.lostAcks {
				st, err := manifest.Open(manifest.DefaultPath(folder), folder)
				if err != nil {
					t.Fatal(err)
				}
				before.Resume.Acked = nil
				err = st.Put("photo.png", before)
				if cerr := st.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					t.Fatal(err)
				}
			}

			logPath := filepath.Join(base, "run-2.log")
			code, stdout, stderr := runCLI(t, exe, agentEnv(), 2*time.Minute, "run", "--once", "--config", cfg)
			if err := os.WriteFile(logPath, []byte(stdout+stderr), 0o600); err != nil {
				t.Fatal(err)
			}
			if code != 0 {
				t.Fatalf("run --once after the kill: exit %d\n%s", code, tail(logPath, 30))
			}
			e := entries(folder)["photo.png"]
			ids, all := mediaWith(srv, sum)
			if e.State != manifest.Uploaded || e.MediaIDString != before.Resume.MediaID || len(ids) != 1 || all != 1 {
				t.Errorf("after the restart: entry %s as %s, media with the file's bytes %v, media ids in all %d; want uploaded as %s, the only one",
					e.State, e.MediaIDString, ids, all, before.Resume.MediaID)
			}
			if !sameBytes(t, srv, e.MediaIDString, data) {
				t.Error("the emulator's bytes differ from the file's")
			}
			if said := len(logRecords(t, "media already finalized before the restart", logPath)) > 0; tc.lostAcks && !said {
				t.Errorf("the restart did not say it found the media finalized:\n%s", tail(logPath, 20))
			}
			t.Logf("resumed image (%s, lost acks %v): killed after FINALIZE, before the answer; restart finished on %s; media ids at X: %d",
				api, tc.lostAcks, e.MediaIDString, all)
			checkLogs(t, p1.log, logPath)
		})
	}
}

// TestRunRetryAfterTenYears: X answering one file's INIT with 429 and "Retry-After: 315360000" (ten
// years; issue 17.3's reproduction, here from a front before the emulator that refuses only the
// INIT of that file's size) neither sleeps the agent's only worker for ten years nor fails the
// file: the log says once that X asks to wait, with resume_at at most 24 hours ahead
// (uploader.MaxServerWait), the file is left waiting (no failure, no second request), and the
// files of another folder dropped after it all upload with that one worker. SIGTERM still ends the
// agent at once.
func TestRunRetryAfterTenYears(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the agent as a subprocess")
	}
	t.Parallel()
	exe := mediasyncExe(t)
	blocked := mediagen.JPEG(500, 400, 31)
	var refusedINITs atomic.Int32
	srv, baseURL := frontedEmulator(t, emulator.Options{}, func(emu http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && r.URL.Path == "/2/media/upload/initialize" {
				b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
				r.Body = io.NopCloser(bytes.NewReader(b))
				var init struct {
					TotalBytes int64 `json:"total_bytes"`
				}
				if json.Unmarshal(b, &init) == nil && init.TotalBytes == int64(len(blocked)) {
					refusedINITs.Add(1)
					w.Header().Set("Retry-After", "315360000")
					w.Header().Set("Content-Type", "application/problem+json")
					w.WriteHeader(http.StatusTooManyRequests)
					io.WriteString(w, `{"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}`)
					return
				}
			}
			emu.ServeHTTP(w, r)
		})
	})
	base := t.TempDir()
	slow, other := mkdir(t, filepath.Join(base, "slow")), mkdir(t, filepath.Join(base, "other"))
	creds := srv.Creds
	creds.BearerToken = ""
	cfg := writeAgentConfig(t, filepath.Join(base, "mediasync.yaml"), agentConfig{
		BaseURL: baseURL, Creds: creds, Folder: slow, MoreFolders: []string{other}, SimpleUploadMax: "0", Workers: 1,
	})
	pr := startProc(t, exe, filepath.Join(base, "run.log"), agentEnv(), "run", "--config", cfg)
	dropped := time.Now()
	put(t, slow, "blocked.jpg", blocked)
	var waits []logRecord
	untilProc(t, pr, "the log line saying X asks to wait", time.Minute, func() bool {
		waits = logRecords(t, "X asks to wait", pr.log)
		return len(waits) > 0
	})
	seen := time.Now()
	if w := waits[0]; w.ResumeAt.Before(dropped.Add(23*time.Hour)) || w.ResumeAt.After(seen.Add(24*time.Hour)) {
		t.Errorf("resume_at %v (%v ahead); want at most 24 h ahead, not ten years: %s", w.ResumeAt, w.ResumeAt.Sub(seen).Round(time.Minute), w.Raw)
	}
	rels := []string{"b0.jpg", "b1.jpg", "sub/b2.jpg", "b3.mp4"}
	for i, rel := range rels {
		data := mediagen.JPEG(320, 240, int64(40+i))
		if strings.HasSuffix(rel, ".mp4") {
			data = mediagen.MP4(1<<20, int64(40+i))
		}
		put(t, other, rel, data)
	}
	untilProc(t, pr, "the other folder's files uploaded by the one worker", time.Minute, func() bool { return uploaded(other, rels...) },
		describeEntries(other))
	if e, ok := entries(slow)["blocked.jpg"]; ok && (e.State == manifest.Failed || e.State == manifest.Skipped || e.State == manifest.Uploaded) {
		t.Errorf("blocked.jpg is %s (%+v); want it waiting for X's time", e.State, e.Error)
	}
	if n := refusedINITs.Load(); n != 1 {
		t.Errorf("blocked.jpg's INIT was sent %d times; want once, then a wait", n)
	}
	if code := pr.stop(t, syscall.SIGTERM, 30*time.Second); code != 0 {
		t.Errorf("SIGTERM: exit %d, want 0", code)
	}
	if n := len(logRecords(t, "X asks to wait", pr.log)); n != 1 {
		t.Errorf("the wait was said %d times, want once", n)
	}
	if failed := logRecords(t, "upload failed", pr.log); len(failed) > 0 {
		t.Errorf("upload failures: %s", failed[0].Raw)
	}
	t.Logf("retry-after result: Retry-After 315360000 → resume_at %v ahead; other folder: %d files uploaded meanwhile by 1 worker; refused INITs %d",
		waits[0].ResumeAt.Sub(seen).Round(time.Minute), len(rels), refusedINITs.Load())
	checkLogs(t, pr.log)
}
