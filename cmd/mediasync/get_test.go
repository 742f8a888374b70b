package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mediasync/mediasync/manifest"
)

// get --wait answers once the entry becomes final while it waits, whether the agent rewrote the
// manifest (a small one) or appended the change to its journal (a large one): it parses the
// manifest again only when one of the two changed, and must never miss a change.
func TestGetWaitSeesTheChange(t *testing.T) {
	for _, big := range []bool{false, true} {
		t.Run(fmt.Sprintf("journal=%v", big), func(t *testing.T) {
			dir := t.TempDir()
			path := manifest.DefaultPath(dir)
			st, err := manifest.Open(path, dir)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if big { // past the size from which commits go to the journal
				many := map[string]manifest.Entry{}
				for i := range 3000 {
					many[fmt.Sprintf("old/%05d-%s.jpg", i, strings.Repeat("x", 40))] = manifest.Entry{State: manifest.Uploaded,
						MediaIDString: "1880000000000000000", MediaKey: "3_1880000000000000000", SHA256: strings.Repeat("ab", 32)}
				}
				if err := st.PutMany(many); err != nil {
					t.Fatal(err)
				}
			}
			if err := st.Put("photo.jpg", manifest.Entry{State: manifest.Pending}); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, "photo.jpg")
			if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			var out, errb bytes.Buffer
			done := make(chan int, 1)
			// --wait 8s: shorter than the store's 10 s checkpoint lag, so that a get blind to the
			// journal cannot be saved by the checkpoint that rewrites the manifest.
			go func() { done <- Main(context.Background(), []string{"get", "--wait", "8s", file}, nil, &out, &errb) }()
			time.Sleep(3 * getPoll) // get reads the pending entry at least once (only orders events)
			now := time.Now().UTC()
			if err := st.Put("photo.jpg", manifest.Entry{State: manifest.Uploaded, MediaIDString: "1881234567890123456",
				UploadedAt: now, ExpiresAt: now.Add(24 * time.Hour)}); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(manifest.JournalPath(path)); (err == nil) != big {
				t.Fatalf("journal present = %v, want %v: the test does not exercise the path it names", err == nil, big)
			}
			if code := <-done; code != 0 || strings.TrimSpace(out.String()) != "1881234567890123456" {
				t.Errorf("get --wait = %d %q (stderr %q), want 0 and the media id", code, out.String(), errb.String())
			}
		})
	}
}
