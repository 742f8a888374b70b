package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

var t0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

// sample is a manifest with one entry of every state and every optional field in use.
func sample() *Manifest {
	return &Manifest{
		Version:   Version,
		Folder:    "/srv/exports",
		UpdatedAt: t0.Add(3 * time.Second),
		Files: map[string]Entry{
			"shoot-01/IMG_0001.jpg": {
				State: Uploaded, MediaIDString: "1912475018862166016", MediaKey: "3_1912475018862166016",
				ExpiresAt: t0.Add(24*time.Hour + 2*time.Second), UploadedAt: t0.Add(2 * time.Second), API: "v2",
				Size: 182734, MTime: time.Date(2026, 11, 21, 9, 59, 55, 123456789, time.UTC),
				SHA256:    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
				MediaType: "image/jpeg", MediaCategory: "tweet_image", AltText: "Harbour at dawn", Attempts: 1,
				Hook:      &HookState{State: HookDone, Attempts: 1, DoneAt: t0.Add(3 * time.Second)},
				UpdatedAt: t0.Add(2 * time.Second),
			},
			"shoot-01/IMG_0002.jpg": {
				State: Uploaded, MediaIDString: "1912475018862166018", MediaKey: "3_1912475018862166018",
				ExpiresAt: t0.Add(24 * time.Hour), UploadedAt: t0, API: "v2", Size: 1000, MediaType: "image/jpeg",
				Hook: &HookState{State: HookPending, Attempts: 2, LastError: "exit status 7: curl: (7) Failed to connect",
					NextAttemptAt: t0.Add(90 * time.Second)},
				UpdatedAt: t0,
			},
			"shoot-01/IMG_0003.jpg": {
				State: Uploaded, MediaIDString: "1912475018862166019", ExpiresAt: t0.Add(24 * time.Hour), UploadedAt: t0,
				Hook:      &HookState{State: HookFailed, Attempts: 5, LastError: "timed out after 1m0s; process group killed"},
				UpdatedAt: t0,
			},
			"clips/broken.mp4": {
				State: Failed, Attempts: 1, UpdatedAt: t0,
				Error: &Error{Permanent: true, HTTPStatus: 200, Code: 1, Name: "InvalidMedia", Message: "Unsupported video format"},
			},
			"clips/big video.mp4": {
				State: Uploading, Size: 419430400, MediaType: "video/mp4", MediaCategory: "tweet_video", API: "v2", Attempts: 1,
				Resume:    &Resume{MediaID: "1912475018862166017", MediaKey: "7_1912475018862166017", ChunkSize: 4 << 20, Acked: []int{0, 1, 2, 5}, ExpiresAt: t0.Add(24 * time.Hour)},
				UpdatedAt: t0,
			},
			"clips/gif <&> \"quoted\".gif": {
				State: Processing, MediaType: "image/gif", MediaCategory: "tweet_gif",
				Resume:    &Resume{MediaID: "1", ChunkSize: 1 << 20, Acked: []int{0}, ExpiresAt: t0.Add(time.Hour), Finalized: true},
				UpdatedAt: t0,
			},
			"retry/später.png": {
				State: Failed, Attempts: 3, NextAttemptAt: t0.Add(8 * time.Minute),
				Error:     &Error{Permanent: false, HTTPStatus: 503, Code: 130, Name: "OverCapacity", Message: "Over capacity"},
				UpdatedAt: t0,
			},
			"empty.jpg":       {State: Skipped, Reason: "empty file", UpdatedAt: t0},
			"new/arrived.jpg": {State: Pending, Size: 10, MTime: t0, UpdatedAt: t0},
			"gone.jpg": {
				State: Uploaded, MediaIDString: "5", MediaKey: "3_5", ExpiresAt: t0.Add(time.Hour), API: "v1.1",
				Deleted: true, UpdatedAt: t0,
			},
		},
	}
}

func TestGolden(t *testing.T) {
	got, err := encode(sample())
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "sample.golden")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("encode(sample()) differs from %s (go test -update refreshes it):\n%s", golden, got)
	}

	// The store writes the same bytes as encode.
	h := hooks{now: func() time.Time { return t0.Add(3 * time.Second) }}
	path := filepath.Join(t.TempDir(), "manifest.json")
	s, err := open(path, "/srv/exports", Options{}, h)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for rel, e := range sample().Files {
		stamped := e.UpdatedAt
		s.hooks.now = func() time.Time { return stamped }
		if err := s.Put(rel, e); err != nil {
			t.Fatal(err)
		}
	}
	s.hooks.now = h.now
	if err := s.Put("gone.jpg", sample().Files["gone.jpg"]); err != nil { // rewrite with the final clock
		t.Fatal(err)
	}
	// gone.jpg is now stamped with t0+3s; fix the expectation accordingly.
	m := sample()
	e := m.Files["gone.jpg"]
	e.UpdatedAt = t0.Add(3 * time.Second)
	m.Files["gone.jpg"] = e
	want2, _ := encode(m)
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(file, want2) {
		t.Errorf("store wrote:\n%s\nwant:\n%s", file, want2)
	}
}

// TestAssembleMatchesMarshalIndent holds the store's assembled bytes equal to encoding/json's.
func TestAssembleMatchesMarshalIndent(t *testing.T) {
	big := &Manifest{Version: 1, Folder: "/x", UpdatedAt: t0, Files: map[string]Entry{}}
	for i := range 300 {
		big.Files[fmt.Sprintf("d%02d/f-%04d.jpg", i%17, i)] = Entry{State: Uploaded, MediaIDString: fmt.Sprint(i), Size: int64(i), ExpiresAt: t0}
	}
	tests := []struct {
		name string
		m    *Manifest
	}{
		{"sample", sample()},
		{"empty", &Manifest{Version: 1, Folder: "", Files: map[string]Entry{}}},
		{"one", &Manifest{Version: 1, Folder: `C:\x "y"`, UpdatedAt: t0, Files: map[string]Entry{"a": {State: Pending}}}},
		{"odd keys", &Manifest{Version: 1, Folder: "/f<>&", UpdatedAt: t0, Files: map[string]Entry{
			"a\tb": {State: Skipped, Reason: "</script>\u2028"}, "é/ü": {State: Pending}, "Z": {State: Pending}, "a b": {State: Pending},
		}}},
		{"300 entries", big},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := encode(tt.m)
			if err != nil {
				t.Fatal(err)
			}
			want, err := json.MarshalIndent(tt.m, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, '\n')
			if !bytes.Equal(got, want) {
				t.Errorf("encode() =\n%s\nwant (json.MarshalIndent):\n%s", got, want)
			}
		})
	}
}

func TestDecodeRoundTrip(t *testing.T) {
	want := sample()
	data, err := encode(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decode(encode(m)) = %+v\nwant %+v", got, want)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		want    error
		wantMsg string
	}{
		{"empty file", "", ErrCorrupt, "unexpected end of JSON input"},
		{"truncated", `{"version": 1, "folder": "/x", "files": {"a": {"state": "upl`, ErrCorrupt, "unexpected end"},
		{"garbage", "\x00\x01PK", ErrCorrupt, "at byte"},
		{"not an object", `[1,2]`, ErrCorrupt, "cannot unmarshal array"},
		{"wrong type", `{"version": "1"}`, ErrCorrupt, "cannot unmarshal string"},
		{"entry wrong type", `{"version": 1, "files": {"a": {"state": "uploaded", "size": "big"}}}`, ErrCorrupt, "size"},
		{"bad time", `{"version": 1, "files": {"a": {"state": "uploaded", "expires_at": "tomorrow"}}}`, ErrCorrupt, "tomorrow"},
		{"no version", `{"folder": "/x", "files": {}}`, ErrCorrupt, "version 0"},
		{"newer version", `{"version": 2, "folder": "/x", "files": {}}`, ErrNewerVersion, "version 2"},
		{"unknown state", `{"version": 1, "files": {"a.jpg": {"state": "done"}}}`, ErrCorrupt, `unknown state "done"`},
		{"unknown hook state", `{"version": 1, "files": {"a.jpg": {"state": "uploaded", "hook": {"state": "running"}}}}`, ErrCorrupt, `unknown hook state "running"`},
		{"hook wrong type", `{"version": 1, "files": {"a.jpg": {"state": "uploaded", "hook": "pending"}}}`, ErrCorrupt, "hook"},
		{"escaping key", `{"version": 1, "files": {"../etc/passwd": {"state": "pending"}}}`, ErrCorrupt, "leaves the folder"},
		{"absolute key", `{"version": 1, "files": {"/etc/passwd": {"state": "pending"}}}`, ErrCorrupt, "absolute"},
		{"unclean key", `{"version": 1, "files": {"a//b.jpg": {"state": "pending"}}}`, ErrCorrupt, "not clean"},
		{"empty key", `{"version": 1, "files": {"": {"state": "pending"}}}`, ErrCorrupt, "empty path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := decode([]byte(tt.data))
			if !errors.Is(err, tt.want) {
				t.Fatalf("decode(%q) = %v, %v; want error wrapping %v", tt.data, m, err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("decode(%q) error %q does not mention %q", tt.data, err, tt.wantMsg)
			}
		})
	}
}

func TestDecodeAccepts(t *testing.T) {
	tests := []struct {
		name  string
		data  string
		files int
	}{
		{"null files", `{"version": 1, "folder": "/x", "files": null}`, 0},
		{"no files", `{"version": 1}`, 0},
		{"unknown fields ignored", `{"version": 1, "extra": true, "files": {"a": {"state": "pending", "future": 1}}}`, 1},
		{"compact", `{"version":1,"files":{"a/b.jpg":{"state":"uploaded","media_id_string":"1"}}}`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := decode([]byte(tt.data))
			if err != nil {
				t.Fatalf("decode(%q): %v", tt.data, err)
			}
			if m.Files == nil || len(m.Files) != tt.files {
				t.Errorf("decode(%q).Files = %v, want %d entries", tt.data, m.Files, tt.files)
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	d := t.TempDir()
	missing := filepath.Join(d, "nope.json")
	if _, err := Read(missing); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("Read(missing) = %v, want fs.ErrNotExist naming the file", err)
	}
	corrupt := filepath.Join(d, "manifest.json")
	if err := os.WriteFile(corrupt, []byte(`{"version": 1, "files": {`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(corrupt); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), corrupt) {
		t.Errorf("Read(corrupt) = %v, want ErrCorrupt naming the file", err)
	}
}

func TestValidRel(t *testing.T) {
	tests := []struct {
		rel string
		ok  bool
	}{
		{"a.jpg", true},
		{"shoot 01/IMG \"1\" 'x'.jpg", true},
		{"日本/写真.jpg", true},
		{`back\slash.jpg`, true},
		{"..hidden/x.jpg", true},
		{"", false},
		{".", false},
		{"..", false},
		{"../x", false},
		{"a/../../x", false},
		{"/abs", false},
		{"a/./b", false},
		{"a/", false},
		{"a\x00b", false},
		{"bad\xffutf8.jpg", false},
	}
	for _, tt := range tests {
		err := ValidRel(tt.rel)
		if (err == nil) != tt.ok {
			t.Errorf("ValidRel(%q) = %v, want ok=%v", tt.rel, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("ValidRel(%q) = %v, want ErrInvalid", tt.rel, err)
		}
	}
}

func FuzzManifestDecode(f *testing.F) {
	seed, err := encode(sample())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`{"version": 1, "files": {"a": {"state": "pending"}}}`))
	f.Add([]byte(`{"version": 1, "folder": "\u00e9", "files": {"a": {"state": "failed", "error": {"permanent": false, "message": "x"}}}}`))
	f.Add([]byte(`{"version": 2}`))
	f.Add([]byte(`{"version": 1, "files": {"a": {"state": "uploaded", "hook": {"state": "pending", "attempts": 1, "next_attempt_at": "2026-01-01T00:00:00+02:00"}}}}`))
	f.Add([]byte(`{"version": 1, "files": {"a": {"state": "uploading", "resume": {"media_id": "1", "chunk_size": 4, "acked_segments": null, "expires_at": "2026-01-01T00:00:00+02:00"}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decode(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrNewerVersion) {
				t.Fatalf("decode error %v wraps neither ErrCorrupt nor ErrNewerVersion", err)
			}
			return
		}
		enc, err := encode(m)
		if err != nil {
			// Only times outside year 0..9999 fail to encode; they must not have decoded.
			t.Fatalf("encode(decode(%q)): %v", data, err)
		}
		m2, err := decode(enc)
		if err != nil {
			t.Fatalf("decode(encode(decode(%q))): %v\n%s", data, err, enc)
		}
		m.Version = Version
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("round trip changed the manifest:\n%+v\n%+v", m, m2)
		}
		enc2, err := encode(m2)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not stable: %v\n%s\n%s", err, enc, enc2)
		}
	})
}

func TestRel(t *testing.T) {
	tests := []struct {
		folder, path, want string
		ok                 bool
	}{
		{"/srv/exports", "/srv/exports/a.jpg", "a.jpg", true},
		{"/srv/exports/", "/srv/exports/shoot 01/IMG 1.jpg", "shoot 01/IMG 1.jpg", true},
		{"/srv/exports", "/srv/exports/x/../y.jpg", "y.jpg", true},
		{"/srv/exports", "/srv/exports", "", false},
		{"/srv/exports", "/srv/other/a.jpg", "", false},
		{"/srv/exports", "relative/a.jpg", "", false},
	}
	for _, tt := range tests {
		got, err := Rel(tt.folder, tt.path)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("Rel(%q, %q) = %q, %v; want %q, ok=%v", tt.folder, tt.path, got, err, tt.want, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("Rel(%q, %q) error %v does not wrap ErrInvalid", tt.folder, tt.path, err)
		}
	}
}
