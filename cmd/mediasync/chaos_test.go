package main

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mediasync/mediasync/emulator"
	"github.com/mediasync/mediasync/emulator/emulatortest"
	"github.com/mediasync/mediasync/internal/mediagen"
	"github.com/mediasync/mediasync/manifest"
	"github.com/mediasync/mediasync/uploader"
)

// TestChaos runs the agent as a subprocess against the emulator and SIGKILLs it at random moments
// while images and large videos are dropped into its folder, then checks that every file ended up
// uploaded exactly once: one manifest entry per file, byte-identical at the emulator, and no second
// finalized media id for the bytes of a chunked upload (those resume on their media id). A one-shot
// image upload killed after X stored it but before the manifest write may leave one unused media id;
// those are counted and reported, and the all_chunked variant (simple_upload_max: 0) asserts zero
// duplicates overall. After every kill the manifest must parse, every entry it calls uploaded must
// exist at the emulator with the same bytes, and a committed media id never changes; a concurrent
// reader polls the manifest throughout and must never see a torn file. A data race or panic reported
// by the (race-built) subprocess fails the test too. In the on_upload variant the folder's command
// appends each file's path to a log: every uploaded file's command must have run at least once,
// and the duplicates (a kill after the command ran, before its outcome was recorded) are counted.
//
// Short form: a few kills. Long form: MEDIASYNC_CHAOS_KILLS=100 (bench/chaos.sh). The kill times are
// drawn from MEDIASYNC_CHAOS_SEED (default: the clock), which is logged so a failure can be replayed.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos test runs the agent as a subprocess for tens of seconds")
	}
	kills, long := 6, false
	if s := os.Getenv("MEDIASYNC_CHAOS_KILLS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("MEDIASYNC_CHAOS_KILLS=%q: want a positive number", s)
		}
		kills, long = n, true
	}
	seed := time.Now().UnixNano()
	if s := os.Getenv("MEDIASYNC_CHAOS_SEED"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("MEDIASYNC_CHAOS_SEED=%q: %v", s, err)
		}
		seed = n
	}
	exe := mediasyncExe(t)
	tests := []struct {
		name            string
		api             string
		simpleUploadMax string
		simpleMaxBytes  int64
		onUpload        bool
	}{
		{"mixed", "v2", "1MiB", 1 << 20, false},
		{"all_chunked", "v2", "0", 0, false},
		{"v1.1_mixed", "v1.1", "1MiB", 1 << 20, false},
		// The folder has an on_upload command that appends the file's path to a log (issue 14):
		// every uploaded file's hook ran at least once; the duplicates are counted.
		{"on_upload", "v2", "1MiB", 1 << 20, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each variant has its own emulator and folder; the runs mostly wait
			runChaos(t, exe, chaosParams{
				kills:           kills,
				long:            long,
				seed:            seed,
				api:             tc.api,
				simpleUploadMax: tc.simpleUploadMax,
				simpleMaxBytes:  tc.simpleMaxBytes,
				onUpload:        tc.onUpload,
			})
		})
	}
}

type chaosParams struct {
	kills           int
	long            bool
	seed            int64
	api             string // v2 | v1.1
	simpleUploadMax string
	simpleMaxBytes  int64
	onUpload        bool // the folder's on_upload appends $MEDIASYNC_REL to a log
}

// chaosFile is one file of the workload.
type chaosFile struct {
	rel     string
	kind    string // jpeg, png, gif, mp4
	slow    bool   // written in place, slowly; else written under a temp name and renamed
	size    int64
	sha     string
	oneShot bool // an image small enough for the one-shot upload
}

// chaosResult is what one chaos run reports.
type chaosResult struct {
	kills, files, parseFailures, resumed, errorLines int
	bytes                                            int64
	dupChunked, dupOneShot, stray, unfinalized       int
	hookRuns, hookDups                               int // on_upload: lines in its log, lines beyond one per file
	elapsed                                          time.Duration
}

// genChaosFile returns workload file number i and its bytes. The kinds rotate so that every few
// files there is a large video; every third file is in a subfolder.
func genChaosFile(i int, p chaosParams) (chaosFile, []byte) {
	rng := rand.New(rand.NewPCG(uint64(p.seed), uint64(i)))
	dir := ""
	if i%3 == 2 {
		dir = fmt.Sprintf("shoot-%02d/", i/3)
	}
	seed := p.seed*1000 + int64(i)
	var f chaosFile
	var data []byte
	switch i % 6 {
	case 0:
		f, data = chaosFile{kind: "jpeg"}, mediagen.JPEG(640+rng.IntN(320), 480, seed)
	case 1:
		f, data = chaosFile{kind: "png"}, mediagen.PNG(600, 520+rng.IntN(160), seed) // > 1 MiB: chunked
	case 2:
		size := int64(8<<20 + rng.IntN(4<<20))
		if p.long {
			size = int64(10<<20 + rng.IntN(20<<20))
		}
		f, data = chaosFile{kind: "mp4", slow: true}, mediagen.MP4(size, seed)
	case 3:
		f, data = chaosFile{kind: "jpeg", slow: true}, mediagen.JPEG(800, 600+rng.IntN(200), seed)
	case 4:
		f, data = chaosFile{kind: "gif"}, mediagen.GIF(160, 120, 4+rng.IntN(4), seed)
	default:
		size := int64(6<<20 + rng.IntN(4<<20))
		if p.long {
			size = int64(10<<20 + rng.IntN(20<<20))
		}
		f, data = chaosFile{kind: "mp4"}, mediagen.MP4(size, seed)
	}
	ext := f.kind
	if ext == "jpeg" {
		ext = "jpg"
	}
	f.rel = fmt.Sprintf("%sfile-%03d.%s", dir, i, ext)
	f.size, f.sha = int64(len(data)), sha256Hex(data)
	f.oneShot = (f.kind == "jpeg" || f.kind == "png") && f.size <= p.simpleMaxBytes
	return f, data
}

func runChaos(t *testing.T, exe string, p chaosParams) {
	start := time.Now()
	rng := rand.New(rand.NewPCG(uint64(p.seed), 0x6d656469617379))
	t.Logf("chaos: seed %d (replay: MEDIASYNC_CHAOS_SEED=%[1]d go test -run '^TestChaos$/^%s$'), kills %d, api %s, simple_upload_max %s",
		p.seed, t.Name()[len("TestChaos/"):], p.kills, p.api, p.simpleUploadMax)

	srv := emulatortest.NewServer(t, emulator.Options{Faults: emulator.Faults{
		Latency:        10 * time.Millisecond,
		Bandwidth:      4 << 20, // per connection: a video takes long enough for kills to land mid-APPEND
		ProcessingTime: 500 * time.Millisecond,
		// X's per-user windows are 15 minutes; a long run would wait out a whole window. The
		// limits are not what this test is about.
		RateLimit: 1 << 20,
	}})
	base := t.TempDir()
	folder := filepath.Join(base, "inbox")
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	creds := srv.Creds
	creds.BearerToken = "" // oauth1 only; a bearer token would draw a config warning
	hookLog, folderYAML := filepath.Join(base, "hooks.log"), ""
	if p.onUpload {
		// The log's path is the shell's $0, so that it needs no quoting.
		folderYAML = fmt.Sprintf("    on_upload:\n      command: [sh, -c, 'echo \"$MEDIASYNC_REL\" >> \"$0\"', %q]", hookLog)
	}
	cfg := writeAgentConfig(t, filepath.Join(base, "mediasync.yaml"), agentConfig{
		APIVersion:      p.api,
		BaseURL:         srv.URL,
		Creds:           creds,
		Folder:          folder,
		SimpleUploadMax: p.simpleUploadMax,
		FolderYAML:      folderYAML,
	})
	manifestPath := manifest.DefaultPath(folder)
	env := agentEnv()

	// The workload is generated ahead in the background (a large PNG takes a second under -race), so
	// that generating it does not stretch the time between kills.
	type generated struct {
		f    chaosFile
		data []byte
	}
	const initial = 4
	gen := make(chan generated, 2)
	go func() {
		defer close(gen)
		for i := range initial + p.kills {
			f, data := genChaosFile(i, p)
			select {
			case gen <- generated{f, data}:
			case <-t.Context().Done():
				return
			}
		}
	}()
	var (
		files   []chaosFile
		writers sync.WaitGroup
		wmu     sync.Mutex
		werrs   []error
	)
	drop := func() {
		g, ok := <-gen
		if !ok {
			t.Fatal("workload generator ended early")
		}
		f, data := g.f, g.data
		files = append(files, f)
		abs := filepath.Join(folder, filepath.FromSlash(f.rel))
		if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
			t.Fatal(err)
		}
		if !f.slow {
			if err := writeViaRename(abs, data); err != nil {
				t.Fatal(err)
			}
			return
		}
		writers.Go(func() {
			if err := writeSlowly(abs, data, 16, 40*time.Millisecond); err != nil {
				wmu.Lock()
				werrs = append(werrs, fmt.Errorf("write %s: %w", f.rel, err))
				wmu.Unlock()
			}
		})
	}
	for range initial { // present before the first start
		drop()
	}
	writers.Wait()

	var res chaosResult
	logs := []string{}
	startRun := func() *proc {
		lp := filepath.Join(base, fmt.Sprintf("run-%03d.log", len(logs)))
		logs = append(logs, lp)
		return startProc(t, exe, lp, env, "run", "--config", cfg)
	}
	// After every kill the manifest must parse, and every entry it calls uploaded must be backed by
	// a finalized media id with the same bytes at the emulator (the manifest is the commit point);
	// once a file is committed with its final bytes, its media id never changes (no re-upload).
	committed := map[string]string{} // rel → media id
	checkManifest := func(when string) {
		m, err := manifest.Read(manifestPath)
		if errors.Is(err, fs.ErrNotExist) {
			return
		}
		if err != nil {
			res.parseFailures++
			t.Errorf("%s: manifest.Read: %v", when, err)
			return
		}
		final := map[string]string{}
		for _, f := range files {
			final[f.rel] = f.sha
		}
		for rel, e := range m.Files {
			if e.State != manifest.Uploaded {
				continue
			}
			if mi, ok := srv.MediaByID(e.MediaIDString); !ok || mi.SHA256 != e.SHA256 || mi.State != "succeeded" {
				t.Errorf("%s: %s is recorded uploaded as %s (sha256 %s), but the emulator has %+v", when, rel, e.MediaIDString, e.SHA256, mi)
			}
			if e.SHA256 != final[rel] {
				continue
			}
			if id, ok := committed[rel]; ok && id != e.MediaIDString {
				t.Errorf("%s: %s was recorded uploaded as %s, now as %s: an unchanged file was uploaded again", when, rel, id, e.MediaIDString)
			}
			committed[rel] = e.MediaIDString
		}
	}
	// A reader polls the manifest all along, as a posting step would: it must never see a torn file.
	readerDone, stopReader := make(chan struct{}), make(chan struct{})
	var reads, readFailures int
	go func() {
		defer close(readerDone)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopReader:
				return
			case <-tick.C:
			}
			_, err := manifest.Read(manifestPath)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				readFailures++
				t.Errorf("concurrent reader: manifest.Read: %v", err)
			}
			reads++
		}
	}()
	defer func() {
		select {
		case <-stopReader:
		default:
			close(stopReader)
			<-readerDone
		}
	}()
	for k := range p.kills {
		pr := startRun()
		// The random wait is the chaos itself (when the kill lands), not synchronisation.
		wait := 150*time.Millisecond + time.Duration(rng.Int64N(int64(2500*time.Millisecond)))
		if k%2 == 0 {
			time.Sleep(wait / 3)
			drop() // dropped while the agent runs
			time.Sleep(wait - wait/3)
		} else {
			time.Sleep(wait)
		}
		if pr.exited() {
			t.Fatalf("kill %d: the agent exited on its own (%v) before the kill; log:\n%s", k+1, pr.err, tail(pr.log, 30))
		}
		pr.kill(t)
		res.kills++
		t.Logf("kill %d after %v", k+1, wait.Round(time.Millisecond))
		checkManifest(fmt.Sprintf("after kill %d", k+1))
		if k%2 == 1 {
			drop() // dropped while the agent is down
		}
	}
	writers.Wait()
	for _, err := range werrs {
		t.Fatal(err)
	}

	// Final run: until every file is recorded as uploaded with its final bytes, then SIGTERM.
	finalStart := time.Now()
	pr := startRun()
	deadline := time.Now().Add(3 * time.Minute)
	if p.long {
		deadline = time.Now().Add(30 * time.Minute)
	}
	var m *manifest.Manifest
	for {
		var err error
		m, err = manifest.Read(manifestPath)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			res.parseFailures++
			t.Errorf("final run: manifest.Read: %v", err)
		}
		if err == nil && allUploaded(m, files) && (!p.onUpload || allHooksDone(m, files)) {
			break
		}
		if pr.exited() {
			t.Fatalf("final run: the agent exited on its own (%v); log:\n%s", pr.err, tail(pr.log, 30))
		}
		if time.Now().After(deadline) { // a failure guard only
			t.Fatalf("final run: not every file uploaded by the deadline:\n%s\nlog:\n%s", pending(m, files), tail(pr.log, 30))
		}
		time.Sleep(200 * time.Millisecond) // polling interval
	}
	t.Logf("final run: every file uploaded %v after its start", time.Since(finalStart).Round(time.Millisecond))
	if code := pr.stop(t, syscall.SIGTERM, time.Minute); code != 0 {
		t.Errorf("SIGTERM: exit code %d, want 0; log:\n%s", code, tail(pr.log, 20))
	}
	m, err := manifest.Read(manifestPath)
	if err != nil {
		t.Fatalf("after SIGTERM: %v", err)
	}
	if !allUploaded(m, files) {
		t.Errorf("after SIGTERM: manifest lost entries:\n%s", pending(m, files))
	}

	close(stopReader)
	<-readerDone
	res.parseFailures += readFailures
	t.Logf("concurrent reader: %d manifest reads, %d failures", reads, readFailures)
	checkManifest("after SIGTERM")
	verifyChaos(t, srv, m, files, &res)
	if p.onUpload {
		verifyHooks(t, hookLog, m, files, &res)
	}
	if dir := os.Getenv("MEDIASYNC_CHAOS_LOGDIR"); dir != "" {
		keepLogs(t, filepath.Join(dir, t.Name()), append(logs, manifestPath))
	}
	for _, lp := range logs {
		st := scanLog(t, lp)
		res.resumed += st.resumed
		res.errorLines += st.errors
		for _, l := range st.raceOrPanic {
			t.Errorf("%s: %s", filepath.Base(lp), l)
		}
	}
	res.files = len(files)
	for _, f := range files {
		res.bytes += f.size
	}
	res.elapsed = time.Since(start)
	t.Logf("chaos result: variant=%s kills=%d files=%d bytes=%d dup_chunked=%d dup_oneshot=%d manifest_parse_failures=%d resumed=%d unfinalized=%d stray=%d error_lines=%d hook_runs=%d hook_dups=%d seconds=%.1f seed=%d",
		t.Name()[len("TestChaos/"):], res.kills, res.files, res.bytes, res.dupChunked, res.dupOneShot, res.parseFailures, res.resumed,
		res.unfinalized, res.stray, res.errorLines, res.hookRuns, res.hookDups, res.elapsed.Seconds(), p.seed)
	if res.dupChunked > 0 {
		t.Errorf("%d duplicate media id(s) at the emulator for chunked uploads, want 0", res.dupChunked)
	}
	if p.simpleMaxBytes == 0 && res.dupOneShot > 0 {
		t.Errorf("%d duplicate media id(s) with simple_upload_max 0, want 0", res.dupOneShot)
	}
}

// allUploaded reports whether every file has an uploaded entry for its final bytes.
func allUploaded(m *manifest.Manifest, files []chaosFile) bool {
	for _, f := range files {
		e, ok := m.Files[f.rel]
		if !ok || e.State != manifest.Uploaded || e.SHA256 != f.sha {
			return false
		}
	}
	return true
}

// allHooksDone reports whether every file's entry records its on_upload command as done.
func allHooksDone(m *manifest.Manifest, files []chaosFile) bool {
	for _, f := range files {
		if h := m.Files[f.rel].Hook; h == nil || h.State != manifest.HookDone {
			return false
		}
	}
	return true
}

// verifyHooks checks the on_upload log against the files: every uploaded file's command ran at
// least once (at least once is the promise: a kill after the command ran but before its outcome
// was recorded runs it again), and only for files of the workload. It counts the runs and the
// duplicates (runs beyond one per file) and logs each duplicate, for the closing note.
func verifyHooks(t *testing.T, hookLog string, m *manifest.Manifest, files []chaosFile, res *chaosResult) {
	t.Helper()
	b, err := os.ReadFile(hookLog)
	if err != nil {
		t.Fatalf("on_upload log: %v", err)
	}
	runs := map[string]int{}
	for line := range strings.Lines(string(b)) {
		runs[strings.TrimSuffix(line, "\n")]++
		res.hookRuns++
	}
	want := map[string]bool{}
	for _, f := range files {
		want[f.rel] = true
		switch n := runs[f.rel]; {
		case n == 0:
			t.Errorf("%s: uploaded (hook %+v) but its on_upload command never ran", f.rel, m.Files[f.rel].Hook)
		case n > 1:
			res.hookDups += n - 1
			t.Logf("%s: on_upload ran %d times (hook %+v)", f.rel, n, m.Files[f.rel].Hook)
		}
		if h := m.Files[f.rel].Hook; h == nil || h.State != manifest.HookDone {
			t.Errorf("%s: hook %+v, want done", f.rel, h)
		}
	}
	for rel, n := range runs {
		if !want[rel] {
			t.Errorf("on_upload ran %d times for %q, which is not a file of the workload", n, rel)
		}
	}
	t.Logf("on_upload: %d runs for %d files, %d duplicates (lines - unique lines)", res.hookRuns, len(files), res.hookDups)
}

// pending describes the files that are not uploaded yet.
func pending(m *manifest.Manifest, files []chaosFile) string {
	var b strings.Builder
	for _, f := range files {
		var e manifest.Entry
		ok := false
		if m != nil {
			e, ok = m.Files[f.rel]
		}
		switch {
		case !ok:
			fmt.Fprintf(&b, "  %s: no entry\n", f.rel)
		case e.State != manifest.Uploaded || e.SHA256 != f.sha:
			fmt.Fprintf(&b, "  %s: state %s, sha256 match %v, error %+v, reason %q\n", f.rel, e.State, e.SHA256 == f.sha, e.Error, e.Reason)
		case e.Hook != nil && e.Hook.State != manifest.HookDone:
			fmt.Fprintf(&b, "  %s: uploaded, hook %+v\n", f.rel, *e.Hook)
		}
	}
	return b.String()
}

// verifyChaos checks the final manifest against the files and the emulator, and counts duplicates:
// finalized media ids at the emulator holding a file's bytes beyond the first.
func verifyChaos(t *testing.T, srv *emulatortest.Server, m *manifest.Manifest, files []chaosFile, res *chaosResult) {
	t.Helper()
	want := map[string]chaosFile{}
	for _, f := range files {
		want[f.rel] = f
	}
	for rel := range m.Files {
		if _, ok := want[rel]; !ok {
			t.Errorf("manifest has an entry for %q, which is not a file of the workload", rel)
		}
	}
	now := time.Now()
	bySHA := map[string][]emulator.MediaInfo{}
	for _, mi := range srv.Media() {
		if mi.SHA256 == "" {
			res.unfinalized++
			continue
		}
		bySHA[mi.SHA256] = append(bySHA[mi.SHA256], mi)
	}
	known := map[string]bool{}
	for _, f := range files {
		known[f.sha] = true
		e := m.Files[f.rel]
		if e.State != manifest.Uploaded || e.MediaIDString == "" || e.MediaKey == "" || !e.ExpiresAt.After(now) {
			t.Errorf("%s: entry %+v: want uploaded with media id, key and a future expires_at", f.rel, e)
			continue
		}
		if e.SHA256 != f.sha || e.Size != f.size {
			t.Errorf("%s: entry sha256 %s size %d, want %s %d", f.rel, e.SHA256, e.Size, f.sha, f.size)
		}
		mi, ok := srv.MediaByID(e.MediaIDString)
		switch {
		case !ok:
			t.Errorf("%s: media id %s unknown to the emulator", f.rel, e.MediaIDString)
		case mi.SHA256 != f.sha:
			t.Errorf("%s: emulator sha256 of %s = %s, want %s", f.rel, e.MediaIDString, mi.SHA256, f.sha)
		case mi.State != "succeeded":
			t.Errorf("%s: emulator state of %s = %s, want succeeded", f.rel, e.MediaIDString, mi.State)
		case mi.MediaKey != e.MediaKey:
			t.Errorf("%s: media_key %s, emulator says %s", f.rel, e.MediaKey, mi.MediaKey)
		}
		same := bySHA[f.sha]
		if len(same) <= 1 {
			continue
		}
		ids := make([]string, len(same))
		for i, mi := range same {
			ids[i] = mi.ID + "(" + mi.State + ")"
		}
		sort.Strings(ids)
		if f.oneShot {
			res.dupOneShot += len(same) - 1
			t.Logf("%s (one-shot, %d bytes): %d media ids at the emulator: %v; manifest has %s", f.rel, f.size, len(same), ids, e.MediaIDString)
		} else {
			res.dupChunked += len(same) - 1
			t.Errorf("%s (chunked, %s, %d bytes): %d media ids at the emulator: %v; manifest has %s", f.rel, f.kind, f.size, len(same), ids, e.MediaIDString)
		}
	}
	for sha, mis := range bySHA {
		if !known[sha] {
			res.stray += len(mis) // e.g. a slowly written file taken before it was whole
		}
	}
}

// keepLogs copies the run logs and the manifest to dir (MEDIASYNC_CHAOS_LOGDIR), for a look after
// the test's temp dir is gone.
func keepLogs(t *testing.T, dir string, paths []string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Errorf("keep logs: %v", err)
		return
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, filepath.Base(p)), b, 0o644)
		}
		if err != nil {
			t.Errorf("keep logs: %v", err)
		}
	}
	t.Logf("logs kept in %s", dir)
}

// TestResumeAfterUnrecordedFinalize replays, deterministically, the crash the chaos test finds at
// random: the agent is killed after X accepted the FINALIZE of a chunked upload but before the
// manifest recorded it, so the manifest still says "uploading" with the media id and the segments
// it had made durable (acknowledgements are staged, so that may be fewer than were sent). The
// restarted agent must finish that same media id, not upload the file a second time.
func TestResumeAfterUnrecordedFinalize(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the agent as a subprocess")
	}
	exe := mediasyncExe(t)
	tests := []struct {
		api   string
		acked int // segments the manifest had recorded as acknowledged at the crash
	}{
		{"v2", 0},
		{"v2", 2},
		{"v2", 4}, // all of them: only the FINALIZE went unrecorded
		{"v1.1", 2},
		{"v1.1", 4},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/acked=%d", tc.api, tc.acked), func(t *testing.T) {
			srv := emulatortest.NewServer(t, emulator.Options{})
			folder := filepath.Join(t.TempDir(), "inbox")
			if err := os.Mkdir(folder, 0o755); err != nil {
				t.Fatal(err)
			}
			data := mediagen.MP4(4<<20-1000, 42) // four 1 MiB segments
			abs := filepath.Join(folder, "clip.mp4")
			if err := os.WriteFile(abs, data, 0o644); err != nil {
				t.Fatal(err)
			}
			sum := sha256Hex(data)

			// The upload the killed agent made: it reached X whole and was finalized.
			up := uploader.New(srv.OAuth1Client(), uploader.Options{BaseURL: srv.URL, Version: tc.api, ChunkSize: 1 << 20})
			f, err := os.Open(abs)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			fi, err := f.Stat()
			if err != nil {
				t.Fatal(err)
			}
			mtype, err := uploader.Detect(f, fi.Size())
			if err != nil {
				t.Fatal(err)
			}
			m, err := up.Prepare(uploader.Media{Name: "clip.mp4", Size: fi.Size(), Type: mtype})
			if err != nil {
				t.Fatal(err)
			}
			var crash *uploader.Progress // what the manifest held when the agent died
			res, err := up.Upload(t.Context(), f, m, func(p uploader.Progress) {
				if crash == nil && !p.Finalized && len(p.Acked) == tc.acked {
					crash = &p
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			if crash == nil {
				t.Fatalf("no progress report with %d segments acknowledged", tc.acked)
			}
			store, err := manifest.Open(manifest.DefaultPath(folder), folder)
			if err != nil {
				t.Fatal(err)
			}
			err = store.Put("clip.mp4", manifest.Entry{
				State: manifest.Uploading, Size: fi.Size(), MTime: fi.ModTime(), SHA256: sum, API: tc.api,
				MediaType: m.Type, MediaCategory: m.Category, Attempts: 1,
				Resume: &manifest.Resume{MediaID: crash.MediaID, MediaKey: crash.MediaKey, ChunkSize: crash.ChunkSize,
					Acked: crash.Acked, ExpiresAt: crash.ExpiresAt},
			})
			if cerr := store.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				t.Fatal(err)
			}

			creds := srv.Creds
			creds.BearerToken = ""
			cfg := writeAgentConfig(t, filepath.Join(t.TempDir(), "mediasync.yaml"), agentConfig{
				APIVersion: tc.api, BaseURL: srv.URL, Creds: creds, Folder: folder,
			})
			code, stdout, stderr := runCLI(t, exe, agentEnv(), time.Minute, "run", "--once", "--config", cfg)
			if code != 0 {
				t.Fatalf("run --once: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			mf, err := manifest.Read(manifest.DefaultPath(folder))
			if err != nil {
				t.Fatal(err)
			}
			if e := mf.Files["clip.mp4"]; e.State != manifest.Uploaded || e.MediaIDString != res.MediaIDString {
				t.Errorf("entry after restart: state %s, media id %s; want uploaded as %s (the finalized one)", e.State, e.MediaIDString, res.MediaIDString)
			}
			var ids []string
			for _, mi := range srv.Media() {
				if mi.SHA256 == sum {
					ids = append(ids, mi.ID)
				}
			}
			if len(ids) != 1 {
				t.Errorf("the emulator holds the file's bytes under %d media ids %v, want 1 (%s)\nlog:\n%s", len(ids), ids, res.MediaIDString, stderr)
			}
		})
	}
}
