package agent_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mediasync/mediasync/agent"
	"github.com/mediasync/mediasync/emulator"
	"github.com/mediasync/mediasync/internal/mediagen"
	"github.com/mediasync/mediasync/manifest"
)

// TestSimSymlinkedParent is issue 17.1's reproduction: while q/y.jpg waits for its retry, its parent
// directory is swapped for a symbolic link to a directory outside the folder that holds another
// y.jpg (mode 0600). The retry must neither upload nor record nor move that file: the path now
// passes through a link, so the entry counts as removed.
func TestSimSymlinkedParent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		elsewhere := t.TempDir()
		secret := mediagen.JPEG(40, 40, 99)
		if err := os.WriteFile(filepath.Join(elsewhere, "y.jpg"), secret, 0o600); err != nil {
			t.Fatal(err)
		}
		var dir string
		s := newSim(t, simOptions{faults: emulator.Faults{FailRate: 1, Seed: 3}, configure: func(o *agent.Options) {
			dir = o.Folders[0].Path
			o.Folders[0].MoveTo = filepath.Join(dir, ".done")
		}})
		s.drop(0, "q/y.jpg", mediagen.JPEG(40, 40, 1))
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if e := s.entry(0, "q/y.jpg"); e.State != manifest.Failed {
			t.Fatalf("q/y.jpg: %s; want failed, waiting for its retry", e.State)
		}
		// mv f/q f/.q-old && ln -s /elsewhere f/q
		if err := os.Rename(filepath.Join(dir, "q"), filepath.Join(dir, ".q-old")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(elsewhere, filepath.Join(dir, "q")); err != nil {
			t.Fatal(err)
		}
		s.srv.SetFaults(emulator.Faults{})
		time.Sleep(3 * time.Hour) // every retry comes
		synctest.Wait()
		for _, mi := range s.srv.Media() {
			if mi.SHA256 == sum(secret) {
				t.Fatal("the file outside the folder was uploaded through the symlinked parent")
			}
		}
		e := s.entry(0, "q/y.jpg")
		if e.State == manifest.Uploaded || !e.Deleted {
			t.Errorf("q/y.jpg after the swap: %s deleted=%v; want its entry kept, flagged removed", e.State, e.Deleted)
		}
		if got, err := os.ReadFile(filepath.Join(elsewhere, "y.jpg")); err != nil || !bytes.Equal(got, secret) {
			t.Errorf("the file outside the folder was moved or changed: %v", err)
		}
		if fi, err := os.Stat(filepath.Join(elsewhere, "y.jpg")); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("the outside file's mode changed: %v %v", fi.Mode(), err)
		}
		if _, err := os.Stat(filepath.Join(dir, ".done", "q", "y.jpg")); err == nil {
			t.Error("the outside file was moved into the folder")
		}
	})
}

// TestSimLockWatched is issue 17.5's reproduction: .mediasync is deleted while the agent runs. The
// agent takes its lock again, so a second agent started afterwards is refused; and if a second
// agent takes the new lock first, the first one leaves the folder to it: either way each file is
// uploaded once.
func TestSimLockWatched(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, simOptions{})
		s.drop(0, "a.jpg", mediagen.JPEG(20, 20, 1))
		time.Sleep(time.Second)
		synctest.Wait()
		if err := os.RemoveAll(filepath.Join(s.dirs[0], ".mediasync")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Second) // the lock check
		synctest.Wait()
		if _, err := agent.New(s.up, agent.Options{Folders: []agent.Folder{{Path: s.dirs[0]}}}, testLogger(t)); !errors.Is(err, manifest.ErrLocked) {
			t.Fatalf("a second agent after .mediasync was removed: %v; want refused (ErrLocked)", err)
		}
		if e := s.entry(0, "a.jpg"); e.State != manifest.Uploaded {
			t.Errorf("after the lock was taken again the manifest says %s for a.jpg; want it rewritten, uploaded", e.State)
		}
		if !strings.Contains(s.logs.String(), "lock was lost") {
			t.Errorf("the lost lock was not said:\n%s", s.logs.String())
		}

		// Now a second agent is quicker than the first one's check.
		if err := os.RemoveAll(filepath.Join(s.dirs[0], ".mediasync")); err != nil {
			t.Fatal(err)
		}
		b, err := agent.New(s.up, agent.Options{Folders: []agent.Folder{{Path: s.dirs[0]}}}, testLogger(t))
		if err != nil {
			t.Fatalf("the second agent, first to the new lock: %v", err)
		}
		defer b.Close()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if st := s.ag.Status(); st.Refused[s.dirs[0]] == nil || !errors.Is(st.Refused[s.dirs[0]], manifest.ErrLocked) {
			t.Errorf("the first agent still works on the folder: Refused = %v", st.Refused)
		}
		s.drop(0, "b.jpg", mediagen.JPEG(20, 20, 2))
		time.Sleep(time.Minute)
		synctest.Wait()
		if n := len(s.srv.Media()); n != 1 {
			t.Errorf("%d uploads; the first agent uploaded for a folder it no longer holds", n)
		}
	})
}
