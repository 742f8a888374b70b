package agent_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/mediasync/mediasync/agent"
	"github.com/mediasync/mediasync/emulator"
	"github.com/mediasync/mediasync/internal/mediagen"
	"github.com/mediasync/mediasync/internal/testsupport"
	"github.com/mediasync/mediasync/manifest"
)

// waitEntry polls the manifest until rel's entry satisfies ok, failing after a generous deadline.
func (h *harness) waitEntry(rel string, what string, ok func(manifest.Entry) bool) manifest.Entry {
	h.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		m, err := manifest.Read(manifest.DefaultPath(h.dir))
		if err == nil {
			if e, found := m.Files[rel]; found && ok(e) {
				return e
			}
		}
		if time.Now().After(deadline) {
			var e manifest.Entry
			if m != nil {
				e = m.Files[rel]
			}
			h.t.Fatalf("timed out waiting for %s to be %s; entry %+v (read err %v)", rel, what, e, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (h *harness) entries() map[string]manifest.Entry {
	h.t.Helper()
	m, err := manifest.Read(manifest.DefaultPath(h.dir))
	if err != nil {
		h.t.Fatal(err)
	}
	return m.Files
}

// fakeHEIC is the start of an iPhone HEIC file: an ftyp box with the heic brand.
func fakeHEIC() []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, uint32(24))
	b.WriteString("ftypheic")
	binary.Write(&b, binary.BigEndian, uint32(0))
	b.WriteString("mif1heic")
	b.Write(bytes.Repeat([]byte{0x42}, 4000))
	return b.Bytes()
}

// TestBadInputs drops files that cannot be uploaded as they are, next to good ones: each bad one
// gets an entry that says why (or none, for what is not a candidate), the good ones are uploaded,
// and the agent keeps running.
func TestBadInputs(t *testing.T) {
	h := newHarness(t, emulator.Faults{})
	h.start(h.options())

	jpeg := mediagen.JPEG(80, 60, 1)
	corrupt := append(append([]byte{}, jpeg[:200]...), bytes.Repeat([]byte{0}, 3000)...)
	hugeGIF := append([]byte("GIF89a"), make([]byte, 16<<20)...)
	noMoov := mediagen.MP4(mediagen.MinMP4Size*8, 1)[:32] // ftyp and the start of moov only
	noMoov = append(noMoov, bytes.Repeat([]byte{7}, 60000)...)

	cases := []struct {
		rel   string
		data  []byte
		state manifest.State
		want  string // in reason or error message
	}{
		{"empty.jpg", nil, manifest.Skipped, "empty"},
		{"iphone.heic", fakeHEIC(), manifest.Skipped, "heic"},
		{"notes.jpg", []byte("these are my notes, not a photo\n"), manifest.Skipped, "text/plain"},
		{"random.mp4", bytes.Repeat([]byte{1, 2, 3, 250}, 5000), manifest.Skipped, "octet-stream"},
		{"too-big.gif", hugeGIF, manifest.Skipped, "over x's 15 mb animated gif limit"},
		{"corrupt.jpg", corrupt, manifest.Failed, ""},
		{"fake-video.mp4", noMoov, manifest.Failed, ""},
	}
	for _, c := range cases {
		h.write(c.rel, c.data)
	}
	// Good files with awkward names, and a PNG that calls itself a JPEG.
	good := map[string][]byte{
		"Ünïcødé 写真.jpg":                 mediagen.JPEG(50, 50, 2),
		`with "quotes" and 'single'.jpg`: mediagen.JPEG(50, 50, 3),
		"  leading and trailing .jpg":    mediagen.JPEG(50, 50, 4),
		"really-a-png.jpg":               mediagen.PNG(40, 40, 5),
	}
	for rel, data := range good {
		h.write(rel, data)
	}

	for _, c := range cases {
		e := h.waitEntry(c.rel, string(c.state), func(e manifest.Entry) bool { return e.State == c.state })
		msg := e.Reason
		if e.Error != nil {
			msg = e.Error.Message
			if !e.Error.Permanent {
				t.Errorf("%s: failure is retryable, want permanent: %+v", c.rel, e.Error)
			}
		}
		if msg == "" {
			t.Errorf("%s: %s without a reason: %+v", c.rel, c.state, e)
		}
		if c.want != "" && !strings.Contains(strings.ToLower(msg), c.want) {
			t.Errorf("%s: reason %q does not mention %q", c.rel, msg, c.want)
		}
	}
	rels := make([]string, 0, len(good))
	for rel := range good {
		rels = append(rels, rel)
	}
	m := h.waitFor(manifest.Uploaded, rels...)
	if e := m.Files["really-a-png.jpg"]; e.MediaType != "image/png" {
		t.Errorf("really-a-png.jpg: media_type %q, want image/png (from the bytes)", e.MediaType)
	}
	for rel, data := range good {
		mi, ok := h.srv.MediaByID(m.Files[rel].MediaIDString)
		if !ok || mi.SHA256 != sum(data) {
			t.Errorf("%s: not byte-identical at the emulator (%+v)", rel, mi)
		}
	}
	// Nothing that could not succeed was sent: a skipped file sent anyway would have been refused
	// with a 4xx (unsupported type, too large), so the only 4xx is the corrupt JPEG's.
	refused := 0
	for ep, codes := range h.srv.Stats().Requests {
		for code, n := range codes {
			if code >= 400 && code < 500 {
				refused += n
				t.Logf("%s answered %d ×%d", ep, code, n)
			}
		}
	}
	if refused != 1 {
		t.Errorf("%d requests refused with a 4xx; want 1 (corrupt.jpg): a skipped file was sent", refused)
	}
}

// TestPermissionDenied: an unreadable file is recorded as failed (retryable) with the reason, and is
// uploaded once its permissions are fixed. Root reads everything, so as root the test re-runs itself
// as the unprivileged user nobody.
func TestPermissionDenied(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX permissions")
	}
	if os.Geteuid() == 0 {
		runAsNobody(t, "TestPermissionDenied")
		return
	}
	h := newHarness(t, emulator.Faults{})
	locked := h.write("locked.jpg", mediagen.JPEG(40, 40, 1))
	if err := os.Chmod(locked, 0); err != nil {
		t.Fatal(err)
	}
	h.write("open.jpg", mediagen.JPEG(40, 40, 2))
	h.start(h.options())
	h.waitFor(manifest.Uploaded, "open.jpg")
	e := h.waitEntry("locked.jpg", "failed", func(e manifest.Entry) bool { return e.State == manifest.Failed })
	if e.Error == nil || e.Error.Permanent || !strings.Contains(e.Error.Message, "permission denied") {
		t.Errorf("locked.jpg: error %+v; want a retryable permission denied", e.Error)
	}
	if err := os.Chmod(locked, 0o644); err != nil {
		t.Fatal(err)
	}
	h.waitFor(manifest.Uploaded, "locked.jpg")
}

// runAsNobody re-executes this test binary, running only the named test, as uid/gid 65534.
func runAsNobody(t *testing.T, test string) {
	t.Helper()
	if os.Getenv("MEDIASYNC_TEST_AS_NOBODY") != "" {
		t.Fatal("still root after switching user")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The test binary lives in a private build directory: copy it where nobody can run it.
	dir, err := os.MkdirTemp("", "mediasync-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "agent.test")
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, data, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(tmp, 0o777)
	cmd := exec.Command(exe, "-test.run=^"+test+"$", "-test.v", "-test.count=1")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "MEDIASYNC_TEST_AS_NOBODY=1", "TMPDIR="+tmp, "HOME="+tmp)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+test) {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
	t.Logf("as nobody:\n%s", lastLines(string(out), 3))
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// TestNonUTF8Name: a file whose name is not valid UTF-8 (old Windows/Samba shares) cannot be a key of
// the JSON manifest; it is reported and skipped, and never blocks a worker: the files after it are
// uploaded.
func TestNonUTF8Name(t *testing.T) {
	h := newHarness(t, emulator.Faults{})
	opts := h.options()
	opts.Workers = 1
	var logs testsupport.Buffer
	ag, err := agent.New(h.up, opts, zerolog.New(&logs))
	if err != nil {
		t.Fatal(err)
	}
	defer ag.Close()
	defer h.run(ag)()
	h.write("caf\xe9.jpg", mediagen.JPEG(30, 30, 1)) // Latin-1 é
	h.write("later.jpg", mediagen.JPEG(30, 30, 2))
	h.write("third.jpg", mediagen.JPEG(30, 30, 3))
	h.waitFor(manifest.Uploaded, "later.jpg", "third.jpg")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "not valid UTF-8") {
		if time.Now().After(deadline) {
			t.Fatalf("the unusable name was not reported:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
